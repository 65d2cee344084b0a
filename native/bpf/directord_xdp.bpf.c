/* XDP program of the AF_XDP backend: frames for a virtual service (our MAC, IPv4, VIP:port/proto in `services`)
 * go to the AF_XDP socket of their RX queue; everything else (ARP, heartbeats, health checks, the director's own
 * traffic) passes to the kernel. Multi-buffer frames (GSO/GRO super-frames, jumbo frames) pass too: an AF_XDP
 * frame is one 4 KiB chunk with no GSO metadata, so the backend's AF_PACKET socket forwards those with their
 * virtio-net header, and its nftables ingress drop keeps the kernel from answering them. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "xdp_abi.h"   /* struct dd_xdp_key, filled by the loader (native/src/afxdp_attach.c) */

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, DD_XDP_MAX_SERVICE_KEYS);
  __type(key, struct dd_xdp_key);
  __type(value, __u8);
} dd_services SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_XSKMAP);
  __uint(max_entries, DD_XDP_MAX_QUEUES);
  __type(key, __u32);
  __type(value, __u32);
} dd_xsks SEC(".maps");

/* [0]: our MAC in bytes 0-5; bytes 6-7: the longest frame the socket takes (MTU + Ethernet header, big-endian).
 * [1]: the 802.1Q VLAN id served (0: untagged frames). */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, __u64);
} dd_config SEC(".maps");

/* Flows that have sent a frame the socket cannot take (see `big` below). Once one has, all its frames take the
 * AF_PACKET path: splitting a TCP stream over two paths reorders it, and reordering costs the sender retransmits. */
struct flow_key {
  __u32 saddr, daddr;
  __u16 sport, dport;
  __u8 proto;
  __u8 pad[3];
};

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, struct flow_key);
  __type(value, __u8);
} dd_gso_flows SEC(".maps");

/* [0]: nonzero once dd_gso_flows has an entry, so the common case (no super-frames, e.g. native mode on a veth or
 * a NIC without hardware GRO) never pays for the lookup. */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u32);
} dd_gso_seen SEC(".maps");

static __always_inline int to_socket(struct xdp_md *ctx) {
  /* No socket on this queue: drop rather than let the kernel answer for the VIP. */
  return bpf_redirect_map(&dd_xsks, ctx->rx_queue_index, XDP_DROP);
}

/* A frame of a virtual service: to the socket, unless it or an earlier frame of its flow was too big for it. */
static __always_inline int deliver(struct xdp_md *ctx, const struct iphdr *ip, __u16 sport, __u16 dport, int big) {
  struct flow_key f = { .saddr = ip->saddr, .daddr = ip->daddr, .sport = sport, .dport = dport, .proto = ip->protocol };
  __u32 zero = 0, *seen = bpf_map_lookup_elem(&dd_gso_seen, &zero);
  __u8 one = 1;
  if (!seen) return XDP_PASS;
  if (big) {
    bpf_map_update_elem(&dd_gso_flows, &f, &one, BPF_ANY);
    if (!*seen) *seen = 1;
    return XDP_PASS;
  }
  if (*seen && bpf_map_lookup_elem(&dd_gso_flows, &f)) return XDP_PASS;
  return to_socket(ctx);
}

/* "xdp.frags": frags-aware, so a veth peer keeps its GSO features (a frags-unaware program makes it segment every
 * 64 KB super-frame in software, and each segment then costs a trip through the socket). */
SEC("xdp.frags")
int directord_xdp(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  struct iphdr *ip = (void *)(eth + 1);
  struct dd_xdp_key k = {};
  __u32 zero = 0, one = 1, tag = 0;
  __u64 *cfg, *vlan;
  __u8 *ports;
  __u64 len = bpf_xdp_get_buff_len(ctx);
  __be16 proto;
  int big;
  if ((void *)(eth + 1) > end) return XDP_PASS;
  cfg = bpf_map_lookup_elem(&dd_config, &zero);
  vlan = bpf_map_lookup_elem(&dd_config, &one);
  if (!cfg || !vlan) return XDP_PASS;
  /* On a VLAN (lvs.cf eth0.100): one inline 802.1Q tag of that VLAN is skipped. Every other frame passes, so the
   * AF_PACKET path behind sees it: one whose tag the NIC took out (rx-vlan offload, invisible here) is forwarded
   * there with its tag put back; another VLAN, QinQ or a missing tag is counted `vlan` there. */
  proto = eth->h_proto;
  if (proto == bpf_htons(ETH_P_8021Q)) {
    __be16 *vh = (void *)(eth + 1);
    if (!*vlan || (void *)(vh + 2) > end || (bpf_ntohs(vh[0]) & 0xfff) != *vlan) return XDP_PASS;
    proto = vh[1];
    ip = (void *)(vh + 2);
    tag = 4;
  } else if (*vlan) return XDP_PASS;
  if (proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  {
    const __u8 *ours = (const __u8 *)cfg;
#pragma unroll
    for (int i = 0; i < 6; i++)
      if (eth->h_dest[i] != ours[i]) return XDP_PASS;
    /* Multi-buffer, or longer than the MTU (a small GRO/GSO frame in generic mode): only the AF_PACKET path can
     * send it on, as GSO; the socket would send it as one oversize frame that the next hop drops. */
    big = len > (__u64)(end - data) || len > ((__u32)ours[6] << 8 | ours[7]) + tag;
  }
  if ((void *)(ip + 1) > end) return XDP_PASS;
  k.vip = ip->daddr;
  if (ip->frag_off & bpf_htons(0x3fff)) {
    k.proto = DD_XDP_PROTO_FRAG;
    return bpf_map_lookup_elem(&dd_services, &k) ? deliver(ctx, ip, 0, 0, big) : XDP_PASS;
  }
  if (ip->protocol == IPPROTO_ICMP && ip->ihl >= 5) {
    __u8 *icmp = (__u8 *)ip + ip->ihl * 4;
    if ((void *)(icmp + 1) > end || (icmp[0] != 3 && icmp[0] != 4 && icmp[0] != 11)) return XDP_PASS;   /* echo etc.: the kernel's */
    k.proto = DD_XDP_PROTO_ICMP;
    return bpf_map_lookup_elem(&dd_services, &k) ? deliver(ctx, ip, 0, 0, big) : XDP_PASS;
  }
  /* A malformed header goes to the kernel, which drops it (the user-space parser never sees it). */
  if (ip->ihl < 5 || (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP)) goto wildcard;
  ports = (__u8 *)ip + ip->ihl * 4;
  if ((void *)(ports + 4) > end) goto wildcard;
  k.port = *(__u16 *)(ports + 2);
  k.proto = ip->protocol;
  if (bpf_map_lookup_elem(&dd_services, &k)) return deliver(ctx, ip, *(__u16 *)ports, k.port, big);
wildcard:
  k.port = 0;
  k.proto = DD_XDP_PROTO_ALL;
  return bpf_map_lookup_elem(&dd_services, &k) ? deliver(ctx, ip, 0, 0, big) : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
