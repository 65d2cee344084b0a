/* Inside the AF_XDP backend: one dd_xdp per interface, one dd_xdp_queue (umem + XSK socket) per RX queue, and
 * packet threads that each serve a group of queues. Shared by afxdp.c (threads), afxdp_queue.c (rings, the batch
 * step) and afxdp_attach.c (the XDP program through libxdp). */
#ifndef DIRECTORD_AFXDP_INT_H
#define DIRECTORD_AFXDP_INT_H
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <xdp/libxdp.h>
#include <xdp/xsk.h>
#include "afxdp.h"

struct dd_xdp_queue {
  struct dd_xdp *x;
  uint32_t id;                  /* the RX queue this socket is bound to */
  uint32_t frames;              /* umem frames (== fill ring size, so recycling never fails) */
  void *umem_area;
  struct xsk_umem *umem;
  struct xsk_socket *xsk;
  struct xsk_ring_prod fq, tx;
  struct xsk_ring_cons cq, rx;
  uint32_t tx_outstanding;
  int zerocopy;
  uint64_t drops_seen;
  int64_t drops_at;
  uint64_t rx_frames;           /* frames this queue's socket delivered (written by its thread only) */
};

struct dd_xdp_thread {
  struct dd_xdp *x;
  pthread_t thread;
  uint32_t first, count;        /* queues[first .. first+count) */
  int started;
};

struct dd_xdp {
  struct dd_table *t;
  int ifindex, wake;
  uint8_t mac[6];
  uint32_t spin_us;
  /* The program: attached through libxdp (its dispatcher where the kernel and a bpffs allow it), else by us alone
   * (prog NULL: libxdp could not attach it at all, e.g. a bpffs the daemon's user may not write). */
  struct bpf_object *obj;
  struct xdp_program *prog;
  enum xdp_attach_mode mode;
  int attached, dispatcher, prog_fd;
  int services_fd, xsks_fd, cfg_fd;
  uint32_t nqueues, nthreads;
  struct dd_xdp_queue *queues;
  struct dd_xdp_thread *threads;
  volatile int stop;
};

int dd_xdp_fail(char *err, size_t errlen, const char *what, int code);

/* afxdp_queue.c */
int dd_xdpq_open(struct dd_xdp_queue *q, const char *ifname, char *err, size_t errlen);
void dd_xdpq_close(struct dd_xdp_queue *q);
/* Forwards up to one batch from q's RX ring; returns the frames taken (0: the ring was empty). */
uint32_t dd_xdpq_step(struct dd_xdp_queue *q, int64_t now_ms);
/* Kicks pending TX and reclaims completions of an idle queue; 1 while frames are still in flight. */
int dd_xdpq_idle(struct dd_xdp_queue *q);
int dd_xdpq_ready(struct dd_xdp_queue *q);

/* afxdp_attach.c */
int dd_xdp_load(struct dd_xdp *x, const char *ifname, const char *objpath, int skb_mode, char *err, size_t errlen);
/* Sets the maps the loop depends on (sockets, VLAN, then the MAC that arms the program). */
int dd_xdp_arm(struct dd_xdp *x, const char *ifname, char *err, size_t errlen);
void dd_xdp_unload(struct dd_xdp *x);

#endif
