/* One RX queue of the AF_XDP backend: its umem and XSK socket (libxdp; zero-copy where the driver can, copy mode on
 * veth; need_wakeup), and the batch step that forwards frames in place: an RX descriptor that is forwarded goes
 * straight onto the TX ring, its completion back to the fill ring. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/if_xdp.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include "afxdp_int.h"
#include "forward.h"

#define FRAME_SIZE 4096u
#define BATCH 256u
#define DROPS_EVERY_MS 100

static void recycle(struct dd_xdp_queue *q, const uint64_t *addrs, uint32_t n) {
  uint32_t idx, i;
  if (!n) return;
  /* Cannot fail: at most q->frames frames exist and the fill ring holds q->frames. */
  while (xsk_ring_prod__reserve(&q->fq, n, &idx) != n) { /* unreachable by sizing */ }
  for (i = 0; i < n; i++) *xsk_ring_prod__fill_addr(&q->fq, idx + i) = addrs[i] & ~(uint64_t)(FRAME_SIZE - 1);
  xsk_ring_prod__submit(&q->fq, n);
}

static void reclaim_completions(struct dd_xdp_queue *q) {
  uint32_t idx, n = xsk_ring_cons__peek(&q->cq, q->frames, &idx), i, fidx;
  if (!n) return;
  while (xsk_ring_prod__reserve(&q->fq, n, &fidx) != n) { /* unreachable by sizing */ }
  for (i = 0; i < n; i++)
    *xsk_ring_prod__fill_addr(&q->fq, fidx + i) = *xsk_ring_cons__comp_addr(&q->cq, idx + i) & ~(uint64_t)(FRAME_SIZE - 1);
  xsk_ring_prod__submit(&q->fq, n);
  xsk_ring_cons__release(&q->cq, n);
  q->tx_outstanding -= n;
}

/* Copy mode transmits only inside sendmsg, a bounded batch per call: kick until the kernel has taken the ring. */
static void kick_tx(struct dd_xdp_queue *q) {
  int i;
  if (q->zerocopy && !xsk_ring_prod__needs_wakeup(&q->tx)) return;
  for (i = 0; i < 128; i++) {
    if (sendto(xsk_socket__fd(q->xsk), NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0) return;
    if (errno != EAGAIN && errno != EBUSY && errno != ENOBUFS) return;
    reclaim_completions(q);
  }
}

static void count_ring_drops(struct dd_xdp_queue *q, int64_t now) {
  struct xdp_statistics st;
  socklen_t len = sizeof(st);
  uint64_t total;
  if (now - q->drops_at < DROPS_EVERY_MS) return;
  q->drops_at = now;
  if (getsockopt(xsk_socket__fd(q->xsk), SOL_XDP, XDP_STATISTICS, &st, &len)) return;
  total = st.rx_dropped + st.rx_ring_full + st.rx_fill_ring_empty_descs;
  if (total > q->drops_seen) {
    __atomic_fetch_add(&q->x->t->counters[DD_C_RING_DROPS], total - q->drops_seen, __ATOMIC_RELAXED);
    q->drops_seen = total;
  }
}

static uint32_t sum16(const uint8_t *p, uint32_t n, uint32_t s) {
  for (; n > 1; p += 2, n -= 2) s += (uint32_t)p[0] << 8 | p[1];
  if (n) s += (uint32_t)p[0] << 8;
  return s;
}

static uint16_t fold(uint32_t s) {
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return (uint16_t)s;
}

/* XDP sees no skb: a frame the sender left to checksum offload (CHECKSUM_PARTIAL, e.g. from a veth peer) arrives
 * with only the pseudo-header sum in its TCP/UDP checksum field. Such a frame (and only such: the field equals that
 * sum) gets its checksum completed; recomputing a correct checksum would give the same value anyway. */
static void complete_partial_csum(uint8_t *f, uint32_t len) {
  uint32_t ihl, tot, l4len, pseudo, l2 = len >= 18 && f[12] == 0x81 && f[13] == 0x00 ? 18 : 14;   /* one 802.1Q tag */
  uint8_t *ip = f + l2, *l4, *field;
  uint16_t c;
  if (len < l2 + 20 || f[l2 - 2] != 0x08 || f[l2 - 1] != 0x00) return;
  ihl = (uint32_t)(ip[0] & 0x0f) * 4;
  tot = (uint32_t)ip[2] << 8 | ip[3];
  if (ihl < 20 || tot < ihl || l2 + tot > len || (ip[6] & 0x3f) || ip[7]) return;
  l4 = ip + ihl;
  l4len = tot - ihl;
  if (ip[9] == 6 && l4len >= 20) field = l4 + 16;
  else if (ip[9] == 17 && l4len >= 8) { field = l4 + 6; if (!field[0] && !field[1]) return; /* no UDP checksum */ }
  else return;
  pseudo = sum16(ip + 12, 8, 0) + ip[9] + l4len;
  if (((uint16_t)field[0] << 8 | field[1]) != fold(pseudo)) return;
  field[0] = field[1] = 0;
  c = (uint16_t)~fold(sum16(l4, l4len, pseudo));
  if (ip[9] == 17 && c == 0) c = 0xffff;
  field[0] = (uint8_t)(c >> 8);
  field[1] = (uint8_t)c;
}

int dd_xdpq_ready(struct dd_xdp_queue *q) { return xsk_cons_nb_avail(&q->rx, 1) > 0; }

int dd_xdpq_idle(struct dd_xdp_queue *q) {
  reclaim_completions(q);
  if (q->tx_outstanding) kick_tx(q);
  return q->tx_outstanding != 0;
}

uint32_t dd_xdpq_step(struct dd_xdp_queue *q, int64_t now) {
  struct dd_table *t = q->x->t;
  uint64_t fwd[BATCH], drop[BATCH];
  uint32_t fwd_len[BATCH];
  struct dd_hint hints[BATCH];
  uint32_t idx = 0, n, i, nf = 0, nd = 0, sent = 0;
  reclaim_completions(q);
  count_ring_drops(q, now);
  n = xsk_ring_cons__peek(&q->rx, BATCH, &idx);
  if (!n) return 0;
  /* More than one frame: the prefetch pass (prefetch.h), before the lock, so their cache misses overlap. */
  if (n > 1) {
    for (i = 0; i < n; i++) {
      const struct xdp_desc *d = xsk_ring_cons__rx_desc(&q->rx, idx + i);
      dd_hint_frame(t, xsk_umem__get_data(q->umem_area, d->addr), d->len, DD_TAG_NONE, &hints[i]);
    }
    dd_hint_entries(t, hints, n);
  }
  /* One table lock for every queue's thread: counters and verdicts stay exact, a flow's template is shared. */
  int64_t t0 = dd_table_lock(t);
  for (i = 0; i < n; i++) {
    const struct xdp_desc *d = xsk_ring_cons__rx_desc(&q->rx, idx + i);
    uint8_t *f = xsk_umem__get_data(q->umem_area, d->addr);
    uint8_t reply[DD_REPLY_MAX];
    uint32_t rlen = 0;
    int r = dd_forward_frame_hinted(t, f, d->len, d->len, DD_TAG_NONE, now, q->x->mac, reply, &rlen,   /* XDP sees tags inline */
                                    n > 1 ? &hints[i] : NULL);
    if (r == 2) memcpy(f, reply, rlen);   /* the reply takes the frame's place in its 4 KiB chunk */
    if (r) {
      fwd[nf] = d->addr;
      fwd_len[nf++] = r == 2 ? rlen : d->len;
    }
    else drop[nd++] = d->addr;
  }
  dd_batch_end(t, t0, dd_table_unlock(t));
  __atomic_store_n(&q->rx_frames, q->rx_frames + n, __ATOMIC_RELAXED);
  for (i = 0; i < nf; i++) complete_partial_csum(xsk_umem__get_data(q->umem_area, fwd[i]), fwd_len[i]);
  xsk_ring_cons__release(&q->rx, n);
  while (sent < nf) {
    uint32_t want = nf - sent, got, tidx;
    got = xsk_ring_prod__reserve(&q->tx, want, &tidx);
    if (!got) {
      kick_tx(q);
      reclaim_completions(q);
      got = xsk_ring_prod__reserve(&q->tx, want, &tidx);
      if (!got) break;
    }
    for (i = 0; i < got; i++) {
      struct xdp_desc *d = xsk_ring_prod__tx_desc(&q->tx, tidx + i);
      d->addr = fwd[sent + i];
      d->len = fwd_len[sent + i];
    }
    xsk_ring_prod__submit(&q->tx, got);
    q->tx_outstanding += got;
    sent += got;
  }
  if (sent < nf) {
    __atomic_fetch_add(&t->verdicts[DD_V_TX_ERROR], nf - sent, __ATOMIC_RELAXED);
    recycle(q, fwd + sent, nf - sent);
  }
  if (sent) {
    __atomic_fetch_add(&t->counters[DD_C_TX_FRAMES], sent, __ATOMIC_RELAXED);
    kick_tx(q);
  }
  recycle(q, drop, nd);
  return n;
}

int dd_xdpq_open(struct dd_xdp_queue *q, const char *ifname, char *err, size_t errlen) {
  struct xsk_umem_config ucfg = { .fill_size = q->frames, .comp_size = q->frames, .frame_size = FRAME_SIZE,
                                  .frame_headroom = 0, .flags = 0 };
  struct xsk_socket_config scfg;
  struct xdp_options opts;
  socklen_t optlen = sizeof(opts);
  uint32_t i, idx;
  char what[64];
  int rc;
  q->umem_area = mmap(NULL, (size_t)q->frames * FRAME_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (q->umem_area == MAP_FAILED) { q->umem_area = NULL; return dd_xdp_fail(err, errlen, "mmap(umem)", errno); }
  rc = xsk_umem__create(&q->umem, q->umem_area, (uint64_t)q->frames * FRAME_SIZE, &q->fq, &q->cq, &ucfg);
  if (rc) { q->umem = NULL; return dd_xdp_fail(err, errlen, "xsk_umem__create", rc); }
  memset(&scfg, 0, sizeof(scfg));
  scfg.rx_size = q->frames / 2; scfg.tx_size = q->frames / 2;
  scfg.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;
  scfg.bind_flags = XDP_USE_NEED_WAKEUP;      /* zero-copy where the driver has it, copy mode otherwise */
  rc = xsk_socket__create(&q->xsk, ifname, q->id, q->umem, &q->rx, &q->tx, &scfg);
  snprintf(what, sizeof(what), "xsk_socket__create (queue %u)", q->id);
  if (rc) { q->xsk = NULL; return dd_xdp_fail(err, errlen, what, rc); }
  if (!getsockopt(xsk_socket__fd(q->xsk), SOL_XDP, XDP_OPTIONS, &opts, &optlen)) q->zerocopy = (opts.flags & XDP_OPTIONS_ZEROCOPY) != 0;
  if (xsk_ring_prod__reserve(&q->fq, q->frames, &idx) != q->frames) { snprintf(err, errlen, "fill ring"); return -1; }
  for (i = 0; i < q->frames; i++) *xsk_ring_prod__fill_addr(&q->fq, idx + i) = (uint64_t)i * FRAME_SIZE;
  xsk_ring_prod__submit(&q->fq, q->frames);
  return 0;
}

void dd_xdpq_close(struct dd_xdp_queue *q) {
  if (q->xsk) xsk_socket__delete(q->xsk);
  if (q->umem) xsk_umem__delete(q->umem);
  if (q->umem_area) munmap(q->umem_area, (size_t)q->frames * FRAME_SIZE);
  q->xsk = NULL; q->umem = NULL; q->umem_area = NULL;
}
