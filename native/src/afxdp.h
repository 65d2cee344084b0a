/* The AF_XDP packet path: our XDP program on the interface (through libxdp's dispatcher), one XSK socket per RX
 * queue (each with its own umem, frames forwarded in place), and packet threads each serving a group of queues
 * with the same per-frame step as the AF_PACKET loop, all on one connection table. */
#ifndef DIRECTORD_AFXDP_H
#define DIRECTORD_AFXDP_H
#include <stddef.h>
#include <stdint.h>
#include "core.h"
#include "xdp_abi.h"

struct dd_xdp;

/* skb_mode: attach in generic mode only; otherwise native (driver) mode, generic where the driver has none.
 * spin_us: busy-poll budget before sleeping (dd_spin_for_frames). threads: packet threads (0: one per RX queue, at
 * most one per CPU this process may run on but one); the queues are split between them in contiguous groups. */
int dd_xdp_start(struct dd_xdp **out, struct dd_table *t, const char *ifname, const uint8_t mac[6],
                 const char *objpath, int skb_mode, uint32_t spin_us, uint32_t threads, char *err, size_t errlen);
int dd_xdp_set_services(struct dd_xdp *x, const struct dd_xdp_key *keys, uint32_t n, char *err, size_t errlen);
/* Detaches the program, stops the threads, closes the sockets. */
void dd_xdp_stop(struct dd_xdp *x);
/* Removes a directord XDP program left on the interface by a crash: 1 removed, 0 none, -1 (err) a foreign
 * program is attached alone (no dispatcher) or the query failed. Other programs in libxdp's dispatcher stay. */
int dd_xdp_remove_stale(const char *ifname, char *err, size_t errlen);

struct dd_xdp_info {
  const char *mode;             /* "native" / "skb" */
  int zerocopy, dispatcher;
  uint32_t queues, threads;
};
void dd_xdp_info(struct dd_xdp *x, struct dd_xdp_info *out);
/* Frames the socket of the i-th queue has delivered so far; its RX queue id in *queue. */
uint64_t dd_xdp_queue_frames(struct dd_xdp *x, uint32_t i, uint32_t *queue);

#endif
