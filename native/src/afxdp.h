/* The AF_XDP packet loop: our XDP program on the interface, one XSK socket on RX queue 0 (one umem for RX and
 * TX, frames forwarded in place), a pthread running the same per-frame step as the AF_PACKET loop. */
#ifndef DIRECTORD_AFXDP_H
#define DIRECTORD_AFXDP_H
#include <stddef.h>
#include <stdint.h>
#include "core.h"

/* One entry of the XDP program's service map; vip and port in network byte order (see directord_xdp.bpf.c). */
struct dd_xdp_key {
  uint32_t vip;
  uint16_t port;
  uint8_t proto;            /* 6/17; 0 with port 0 = every packet to the VIP; 255 = fragments to the VIP */
  uint8_t pad;
};

struct dd_xdp;

/* skb_mode: attach in generic mode only; otherwise native (driver) mode, generic where the driver has none.
 * spin_us: busy-poll budget before sleeping (dd_spin_for_frames). */
int dd_xdp_start(struct dd_xdp **out, struct dd_table *t, const char *ifname, const uint8_t mac[6],
                 const char *objpath, int skb_mode, uint32_t spin_us, char *err, size_t errlen);
int dd_xdp_set_services(struct dd_xdp *x, const struct dd_xdp_key *keys, uint32_t n, char *err, size_t errlen);
/* Detaches the program, stops the thread, closes the socket. */
void dd_xdp_stop(struct dd_xdp *x);
/* Removes a directord XDP program left on the interface by a crash: 1 removed, 0 none, -1 (err) a foreign
 * program is attached or the query failed. */
int dd_xdp_remove_stale(const char *ifname, char *err, size_t errlen);
/* "native"/"skb" attach mode and whether the socket is zero-copy. */
const char *dd_xdp_mode(struct dd_xdp *x);
int dd_xdp_zerocopy(struct dd_xdp *x);

#endif
