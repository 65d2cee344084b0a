/* Another XDP program for lab-afxdp-dispatcher.test.ts: counts every frame and passes it on. Priority 10 in
 * libxdp's dispatcher (before directord's default 50), not frags-aware, as a third-party program may well be. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <xdp/xdp_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} other_seen SEC(".maps");

struct {
  __uint(priority, 10);
  __uint(XDP_PASS, 1);
} XDP_RUN_CONFIG(other_xdp);

SEC("xdp")
int other_xdp(struct xdp_md *ctx) {
  __u32 k = 0;
  __u64 *v = bpf_map_lookup_elem(&other_seen, &k);
  (void)ctx;
  if (v) __sync_fetch_and_add(v, 1);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
