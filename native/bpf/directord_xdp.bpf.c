/* XDP program of the AF_XDP backend: frames for a virtual service (our MAC, IPv4, VIP:port/proto in `services`)
 * go to the AF_XDP socket of their RX queue; everything else (ARP, heartbeats, health checks, the director's own
 * traffic) passes to the kernel. So the kernel never sees a VIP frame and needs no ingress drop. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* Keys filled by the loader (native/src/afxdp.c); network byte order for vip and port.
 * proto 0 + port 0: every packet to the VIP (fwmark and port-0 services). proto 255: fragments to the VIP. */
struct svc_key {
  __u32 vip;
  __u16 port;
  __u8 proto;
  __u8 pad;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, struct svc_key);
  __type(value, __u8);
} dd_services SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_XSKMAP);
  __uint(max_entries, 64);
  __type(key, __u32);
  __type(value, __u32);
} dd_xsks SEC(".maps");

/* [0]: our MAC in the first 6 bytes. */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} dd_config SEC(".maps");

static __always_inline int to_socket(struct xdp_md *ctx) {
  /* No socket on this queue: drop rather than let the kernel answer for the VIP. */
  return bpf_redirect_map(&dd_xsks, ctx->rx_queue_index, XDP_DROP);
}

SEC("xdp")
int directord_xdp(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  struct iphdr *ip;
  struct svc_key k = {};
  __u32 zero = 0;
  __u64 *cfg;
  __u8 *ports;
  if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  cfg = bpf_map_lookup_elem(&dd_config, &zero);
  if (!cfg) return XDP_PASS;
  {
    const __u8 *ours = (const __u8 *)cfg;
#pragma unroll
    for (int i = 0; i < 6; i++)
      if (eth->h_dest[i] != ours[i]) return XDP_PASS;
  }
  ip = (void *)(eth + 1);
  if ((void *)(ip + 1) > end) return XDP_PASS;
  k.vip = ip->daddr;
  if (ip->frag_off & bpf_htons(0x3fff)) {
    k.proto = 255;
    return bpf_map_lookup_elem(&dd_services, &k) ? to_socket(ctx) : XDP_PASS;
  }
  /* A malformed header goes to the kernel, which drops it (the user-space parser never sees it). */
  if (ip->ihl < 5 || (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP)) goto wildcard;
  ports = (__u8 *)ip + ip->ihl * 4;
  if ((void *)(ports + 4) > end) goto wildcard;
  k.port = *(__u16 *)(ports + 2);
  k.proto = ip->protocol;
  if (bpf_map_lookup_elem(&dd_services, &k)) return to_socket(ctx);
wildcard:
  k.port = 0;
  k.proto = 0;
  return bpf_map_lookup_elem(&dd_services, &k) ? to_socket(ctx) : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
