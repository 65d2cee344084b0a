/* The contract of the AF_XDP backend's XDP program (native/bpf/directord_xdp.bpf.c) with the addon that loads it
 * (native/src/afxdp*.c) and, through the addon's layout() call, with src/dataplane/afxdp.ts: written once, here.
 * Changing it is an ABI change (bump DD_ABI_VERSION in abi.h). Plain C types: both the BPF build and gcc read it. */
#ifndef DIRECTORD_XDP_ABI_H
#define DIRECTORD_XDP_ABI_H

/* Entries of the XSKMAP (one AF_XDP socket per RX queue, indexed by rx_queue_index): the most RX queues served. */
#define DD_XDP_MAX_QUEUES 256
#define DD_XDP_MAX_SERVICE_KEYS 1024

/* dd_xdp_key.proto values besides 6/17 (with port 0): every packet to the VIP (fwmark and port-0 services), ICMP
 * errors to the VIP (relayed to the flow's real server), IP fragments to the VIP. */
#define DD_XDP_PROTO_ALL 0
#define DD_XDP_PROTO_ICMP 1
#define DD_XDP_PROTO_FRAG 255

/* One key of the program's dd_services map; vip and port in network byte order. */
struct dd_xdp_key {
  unsigned int vip;
  unsigned short port;
  unsigned char proto;
  unsigned char pad;
};

_Static_assert(sizeof(struct dd_xdp_key) == 8, "dd_xdp_key is 8 bytes");
_Static_assert(__builtin_offsetof(struct dd_xdp_key, vip) == 0, "dd_xdp_key.vip");
_Static_assert(__builtin_offsetof(struct dd_xdp_key, port) == 4, "dd_xdp_key.port");
_Static_assert(__builtin_offsetof(struct dd_xdp_key, proto) == 6, "dd_xdp_key.proto");

#endif
