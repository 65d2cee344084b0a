/* The AF_PACKET forwarding loop: N pthreads, each with its own RX ring socket (ETH_P_ALL, so it sees frames before
 * the netdev ingress drop; one PACKET_FANOUT_HASH group, so a flow stays on one thread) filtered by classic BPF from
 * libpcap, and its own TX socket: sendmmsg straight out of the ring with PACKET_QDISC_BYPASS. PACKET_VNET_HDR on
 * both carries GSO/CHECKSUM_PARTIAL metadata across. All threads share one table (dd_table_lock per batch). */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include "afpacket.h"
#include "forward.h"

#define BLOCK_SIZE (1u << 20)
#define BLOCK_COUNT 32
/* TPACKET_V2: one frame per slot, big enough for a 64 KiB GSO frame + headers; frames are handed over one by one,
 * so a lone frame is forwarded at once instead of waiting for the V3 block timeout. */
#define V2_FRAME_SIZE (17u * 4096)
/* 15 slots per ring block: 255 pages, so the kernel's block allocation (a power-of-two order) wastes 1 page in 256
 * instead of 15 in 32 with one slot per block; the slots stay contiguous in the mapping. 2040 slots cost about what
 * 1024 single-slot blocks did (136 MiB against 128 MiB) and hold twice the frames while the thread is off its core. */
#define V2_FRAMES_PER_BLOCK 15u
#define V2_FRAME_COUNT (136u * V2_FRAMES_PER_BLOCK)
#define V2_BATCH 256            /* < V2_FRAME_COUNT: the cursor must never wrap onto frames still held */
#define BATCH 1024
#define VNET_LEN ((uint32_t)sizeof(struct virtio_net_hdr))

/* One packet thread: its fanout member socket and ring, its TX socket, its own batch buffers. */
struct dd_worker {
  struct dd_table *t;
  struct dd_loop *g;
  int rx, tx, vnet, v2;
  uint32_t spin_us;
  unsigned cur;                 /* next ring slot (v2) or block (v3), for the spin check */
  unsigned slots;               /* ring slots (v2) or blocks (v3) */
  uint8_t mac[6];
  uint8_t *ring;
  size_t ring_len;
  pthread_t thread;
  int started;
  uint64_t frames;              /* frames this thread took from its ring (written by it only; read by loopThreads) */
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  uint8_t reply[VNET_LEN + DD_REPLY_MAX];   /* an all-zero virtio-net header, then the reply frame */
};

struct dd_loop {
  struct dd_table *t;
  int wake, ifindex;
  unsigned n;
  volatile int stop;
  struct dd_worker *w[DD_MAX_PACKET_THREADS];
};

int64_t dd_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int fail(char *err, size_t errlen, const char *what) {
  snprintf(err, errlen, "%s: %s", what, strerror(errno));
  return -1;
}

/* Every thread's socket gets the new filter (each one swaps atomically; for the moment between two, a frame may be
 * judged by the old or the new filter depending on its thread). */
int dd_loop_set_filter(struct dd_loop *l, const char *filter, char *err, size_t errlen) {
  for (unsigned i = 0; i < l->n; i++)
    if (dd_attach_capture_filter(l->w[i]->rx, l->t->vlan, filter, err, errlen)) return -1;
  return 0;
}

static void flush(struct dd_worker *l, unsigned n) {
  unsigned done = 0;
  while (done < n) {
    int r = sendmmsg(l->tx, l->msgs + done, n - done, 0);
    if (r <= 0) {
      if (r < 0 && errno == EINTR) continue;
      __atomic_fetch_add(&l->t->verdicts[DD_V_TX_ERROR], 1, __ATOMIC_RELAXED);
      done++;   /* skip the frame the kernel refused */
      continue;
    }
    __atomic_fetch_add(&l->t->counters[DD_C_TX_FRAMES], (uint64_t)r, __ATOMIC_RELAXED);
    done += (unsigned)r;
  }
}

/* The receive path's 802.1Q tag (always out of the frame by then: __netif_receive_skb_core untags before the taps). */
static inline int32_t ring_tag(uint32_t status, uint16_t tci, uint16_t tpid) {
  if (!(status & TP_STATUS_VLAN_VALID)) return DD_TAG_NONE;
  if ((status & TP_STATUS_VLAN_TPID_VALID) && tpid != 0x8100) return DD_TAG_OTHER;
  return tci;
}

/* One frame through dd_forward_frame: 1 with *iov set to send it on; a reply (rare: rate-limited ICMP) goes out at
 * once. A tag that came in the ring header goes back inline, into the PACKET_RESERVE room before the frame; the
 * virtio-net header moves with it and its offsets grow by the tag's 4 bytes. */
static int step(struct dd_worker *l, uint8_t *f, uint32_t caplen, uint32_t wirelen, int32_t meta, int64_t now,
                struct iovec *iov, const struct dd_hint *hint) {
  uint32_t rlen = 0, vlen = l->vnet ? VNET_LEN : 0;
  int r = dd_forward_frame_hinted(l->t, f, caplen, wirelen, meta, now, l->mac, l->reply + VNET_LEN, &rlen, hint);
  if (r == 2) {
    const uint8_t *b = l->vnet ? l->reply : l->reply + VNET_LEN;
    if (send(l->tx, b, rlen + vlen, MSG_DONTWAIT) < 0) l->t->verdicts[DD_V_TX_ERROR]++;
    else l->t->counters[DD_C_TX_FRAMES]++;
  }
  if (r == 3) {
    if (l->vnet) {
      struct virtio_net_hdr *vh;
      memmove(f - 4 - VNET_LEN, f - VNET_LEN, VNET_LEN);
      vh = (struct virtio_net_hdr *)(f - 4 - VNET_LEN);
      if (vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) vh->csum_start += 4;
      if (vh->gso_type != VIRTIO_NET_HDR_GSO_NONE) vh->hdr_len += 4;
    }
    f = dd_insert_tag(f, meta);
    caplen += 4;
  } else if (r != 1) return 0;
  iov->iov_base = f - vlen;
  iov->iov_len = caplen + vlen;
  return 1;
}

/* V3: the prefetch pass (prefetch.h) over each chunk of V3_HINTS frames of a block, just before them. */
#define V3_HINTS 64

static void walk_block(struct dd_worker *l, struct tpacket_block_desc *bd) {
  struct dd_table *t = l->t;
  struct tpacket3_hdr *h = (struct tpacket3_hdr *)((uint8_t *)bd + bd->hdr.bh1.offset_to_first_pkt), *ahead = h;
  struct dd_hint hints[V3_HINTS];
  uint32_t i, n = bd->hdr.bh1.num_pkts;
  unsigned out = 0;
  int64_t t0, now;
  __atomic_store_n(&l->frames, l->frames + n, __ATOMIC_RELAXED);
  t0 = dd_table_lock(t);
  now = dd_ns_to_ms(t0);
  for (i = 0; i < n; i++, h = (struct tpacket3_hdr *)((uint8_t *)h + h->tp_next_offset)) {
    uint8_t *f = (uint8_t *)h + h->tp_mac;
    if (n > 1 && i % V3_HINTS == 0) {
      uint32_t m = n - i < V3_HINTS ? n - i : V3_HINTS;
      for (uint32_t k = 0; k < m; k++, ahead = (struct tpacket3_hdr *)((uint8_t *)ahead + ahead->tp_next_offset))
        dd_hint_frame(t, (uint8_t *)ahead + ahead->tp_mac, ahead->tp_snaplen,
                      ring_tag(ahead->tp_status, ahead->hv1.tp_vlan_tci, ahead->hv1.tp_vlan_tpid), &hints[k]);
      dd_hint_entries(t, hints, m);
    }
    if (!step(l, f, h->tp_snaplen, h->tp_len, ring_tag(h->tp_status, h->hv1.tp_vlan_tci, h->hv1.tp_vlan_tpid), now, &l->iov[out],
              n > 1 ? &hints[i % V3_HINTS] : NULL)) continue;
    out++;
    if (out == BATCH) { dd_table_unlock(t); flush(l, out); out = 0; dd_table_lock(t); }
  }
  dd_batch_end(t, t0, dd_table_unlock(t));
  if (out) flush(l, out);
}

/* Spin check (dd_spin_for_frames): is the slot at l->cur handed to user space yet? */
static int v2_ready(void *arg) {
  struct dd_worker *l = arg;
  struct tpacket2_hdr *h = (struct tpacket2_hdr *)(l->ring + (size_t)l->cur * V2_FRAME_SIZE);
  return (__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) != 0 || l->g->stop;
}

/* V2: take every frame that is ready now (up to V2_BATCH), decide them under one lock and one clock read, send
 * them with one sendmmsg, then hand the slots back. Never waits for more frames than are already there. */
static void *loop_main_v2(void *arg) {
  struct dd_worker *l = arg;
  struct dd_table *t = l->t;
  unsigned cur = 0;
  struct tpacket2_hdr *batch[V2_BATCH];
  struct dd_hint hints[V2_BATCH];
  while (!l->g->stop) {
    unsigned n = 0, out = 0, k;
    int64_t now;
    while (n < V2_BATCH) {
      struct tpacket2_hdr *h = (struct tpacket2_hdr *)(l->ring + (size_t)((cur + n) % l->slots) * V2_FRAME_SIZE);
      if (!(__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER)) break;
      batch[n++] = h;
    }
    if (n == 0) {
      struct pollfd pf[2] = { { l->rx, POLLIN | POLLERR, 0 }, { l->g->wake, POLLIN, 0 } };
      l->cur = cur;
      if (dd_spin_for_frames(v2_ready, l, l->spin_us)) continue;
      __atomic_fetch_add(&t->counters[DD_C_LOOP_WAKEUPS], 1, __ATOMIC_RELAXED);
      poll(pf, 2, 100);
      continue;
    }
    __atomic_store_n(&l->frames, l->frames + n, __ATOMIC_RELAXED);
    /* More than one frame: the prefetch pass (prefetch.h), before the lock, so their cache misses overlap. */
    if (n > 1) {
      for (k = 0; k < n; k++)
        dd_hint_frame(t, (uint8_t *)batch[k] + batch[k]->tp_mac, batch[k]->tp_snaplen,
                      ring_tag(batch[k]->tp_status, batch[k]->tp_vlan_tci, batch[k]->tp_vlan_tpid), &hints[k]);
      dd_hint_entries(t, hints, n);
    }
    /* Two clock reads per batch: the lock's (also the batch's `now` and its stall's start) and the unlock's. */
    int64_t t0 = dd_table_lock(t);
    now = dd_ns_to_ms(t0);
    for (k = 0; k < n; k++) {
      struct tpacket2_hdr *h = batch[k];
      uint8_t *f = (uint8_t *)h + h->tp_mac;
      if (!step(l, f, h->tp_snaplen, h->tp_len, ring_tag(h->tp_status, h->tp_vlan_tci, h->tp_vlan_tpid), now, &l->iov[out],
                n > 1 ? &hints[k] : NULL)) continue;
      out++;
    }
    dd_batch_end(t, t0, dd_table_unlock(t));
    if (out) flush(l, out);
    for (k = 0; k < n; k++) __atomic_store_n(&batch[k]->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
    cur = (cur + n) % l->slots;
  }
  return NULL;
}

static int v3_ready(void *arg) {
  struct dd_worker *l = arg;
  struct tpacket_block_desc *bd = (struct tpacket_block_desc *)(l->ring + (size_t)l->cur * BLOCK_SIZE);
  return (__atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) != 0 || l->g->stop;
}

static void *loop_main(void *arg) {
  struct dd_worker *l = arg;
  unsigned cur = 0;
  while (!l->g->stop) {
    struct tpacket_block_desc *bd = (struct tpacket_block_desc *)(l->ring + (size_t)cur * BLOCK_SIZE);
    if (!(__atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER)) {
      struct pollfd pf[2] = { { l->rx, POLLIN | POLLERR, 0 }, { l->g->wake, POLLIN, 0 } };
      l->cur = cur;
      if (dd_spin_for_frames(v3_ready, l, l->spin_us)) continue;
      __atomic_fetch_add(&l->t->counters[DD_C_LOOP_WAKEUPS], 1, __ATOMIC_RELAXED);
      poll(pf, 2, 100);
      continue;
    }
    walk_block(l, bd);
    __atomic_store_n(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
    cur = (cur + 1) % l->slots;
  }
  return NULL;
}

static void close_worker(struct dd_worker *l) {
  if (!l) return;
  if (l->ring && l->ring != MAP_FAILED) munmap(l->ring, l->ring_len);
  if (l->rx >= 0) close(l->rx);
  if (l->tx >= 0) close(l->tx);
  free(l);
}

static void close_loop(struct dd_loop *g) {
  uint64_t one = 1;
  g->stop = 1;
  if (g->wake >= 0 && write(g->wake, &one, sizeof(one)) < 0) { /* the 100 ms poll timeout ends the loops anyway */ }
  for (unsigned i = 0; i < g->n; i++)
    if (g->w[i] && g->w[i]->started) pthread_join(g->w[i]->thread, NULL);
  for (unsigned i = 0; i < g->n; i++) close_worker(g->w[i]);
  if (g->wake >= 0) close(g->wake);
  free(g);
}

/* Joins socket `rx` to the loop's fanout group: the first member asks the kernel for an unused group id
 * (PACKET_FANOUT_FLAG_UNIQUEID, so two data planes in one namespace never share a group), the others join it.
 * PACKET_FANOUT_HASH keeps a flow on one thread (the kernel's symmetric flow hash of addresses, protocol, ports). No
 * PACKET_FANOUT_FLAG_DEFRAG: it would reassemble fragments in the kernel and hand the ring one datagram larger than
 * the MTU, where the loop forwards fragments as they are (docs/dataplane.md). Fragments of one datagram still meet on
 * one thread: the flow dissector hashes any fragment without its ports. */
static int join_fanout(int rx, int *group, char *err, size_t errlen) {
  int val;
  socklen_t len = sizeof(val);
  if (*group < 0) {
    val = (PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_UNIQUEID) << 16;
    if (setsockopt(rx, SOL_PACKET, PACKET_FANOUT, &val, sizeof(val))) return fail(err, errlen, "PACKET_FANOUT");
    if (getsockopt(rx, SOL_PACKET, PACKET_FANOUT, &val, &len)) return fail(err, errlen, "getsockopt(PACKET_FANOUT)");
    *group = val & 0xffff;
    return 0;
  }
  val = *group | (PACKET_FANOUT_HASH << 16);
  if (setsockopt(rx, SOL_PACKET, PACKET_FANOUT, &val, sizeof(val))) return fail(err, errlen, "PACKET_FANOUT (join)");
  return 0;
}

/* One thread's sockets and ring. With n threads each ring is 1/n of the one-thread size, but never so small that a
 * v2 batch (V2_BATCH) could wrap onto slots still held, nor fewer than 8 v3 blocks. */
static int open_worker(struct dd_loop *g, struct dd_worker *l, unsigned n, const char *filter, int *group,
                       char *err, size_t errlen) {
  struct tpacket_req3 req;
  struct sockaddr_ll sll;
  int one = 1, ver = l->v2 ? TPACKET_V2 : TPACKET_V3;
  unsigned reserve = 4;   /* room to put a stripped 802.1Q tag back before sending */
  l->rx = socket(AF_PACKET, SOCK_RAW, 0);
  l->tx = socket(AF_PACKET, SOCK_RAW, 0);
  if (l->rx < 0 || l->tx < 0) return fail(err, errlen, "socket(AF_PACKET)");
  if (dd_attach_capture_filter(l->rx, g->t->vlan, filter, err, errlen)) return -1;
  if (setsockopt(l->rx, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) ||
      (l->vnet && setsockopt(l->rx, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one))) ||
      (l->vnet && setsockopt(l->tx, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one))) ||
      setsockopt(l->tx, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) ||
      setsockopt(l->rx, SOL_PACKET, PACKET_VERSION, &ver, sizeof(ver)) ||
      setsockopt(l->rx, SOL_PACKET, PACKET_RESERVE, &reserve, sizeof(reserve)))
    return fail(err, errlen, "setsockopt(SOL_PACKET)");
  memset(&req, 0, sizeof(req));
  if (l->v2) {
    unsigned blocks = V2_FRAME_COUNT / V2_FRAMES_PER_BLOCK / n;
    unsigned least = (2 * V2_BATCH + V2_FRAMES_PER_BLOCK - 1) / V2_FRAMES_PER_BLOCK;
    if (blocks < least) blocks = least;
    l->slots = blocks * V2_FRAMES_PER_BLOCK;
    req.tp_block_size = V2_FRAME_SIZE * V2_FRAMES_PER_BLOCK; req.tp_block_nr = blocks;
    req.tp_frame_size = V2_FRAME_SIZE; req.tp_frame_nr = l->slots;
    l->ring_len = (size_t)V2_FRAME_SIZE * l->slots;
  } else {
    l->slots = BLOCK_COUNT / n < 8 ? 8 : BLOCK_COUNT / n;
    req.tp_block_size = BLOCK_SIZE; req.tp_block_nr = l->slots;
    req.tp_frame_size = 2048; req.tp_frame_nr = BLOCK_SIZE / 2048 * l->slots;
    req.tp_retire_blk_tov = 1;
    l->ring_len = (size_t)BLOCK_SIZE * l->slots;
  }
  if (setsockopt(l->rx, SOL_PACKET, PACKET_RX_RING, &req, l->v2 ? sizeof(struct tpacket_req) : sizeof(req)))
    return fail(err, errlen, "PACKET_RX_RING");
  l->ring = mmap(NULL, l->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED, l->rx, 0);
  if (l->ring == MAP_FAILED) l->ring = mmap(NULL, l->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED, l->rx, 0);
  if (l->ring == MAP_FAILED) return fail(err, errlen, "mmap(ring)");
  memset(&sll, 0, sizeof(sll));
  sll.sll_family = AF_PACKET; sll.sll_protocol = htons(ETH_P_ALL); sll.sll_ifindex = g->ifindex;
  if (bind(l->rx, (struct sockaddr *)&sll, sizeof(sll))) return fail(err, errlen, "bind(rx)");
  if (n > 1 && join_fanout(l->rx, group, err, errlen)) return -1;
  sll.sll_protocol = 0;
  if (bind(l->tx, (struct sockaddr *)&sll, sizeof(sll))) return fail(err, errlen, "bind(tx)");
  for (unsigned i = 0; i < BATCH; i++) {
    memset(&l->msgs[i], 0, sizeof(l->msgs[i]));
    l->msgs[i].msg_hdr.msg_iov = &l->iov[i];
    l->msgs[i].msg_hdr.msg_iovlen = 1;
  }
  return 0;
}

int dd_loop_start(struct dd_loop **out, struct dd_table *t, const char *ifname, const uint8_t mac[6],
                  const char *filter, int vnet, int v2, uint32_t spin_us, unsigned threads, char *err, size_t errlen) {
  struct dd_loop *g;
  int group = -1;
  unsigned i;
  if (threads < 1 || threads > DD_MAX_PACKET_THREADS) { snprintf(err, errlen, "packet threads out of range"); return -1; }
  g = calloc(1, sizeof(*g));
  if (!g) { snprintf(err, errlen, "out of memory"); return -1; }
  g->t = t; g->wake = -1;
  g->ifindex = (int)if_nametoindex(ifname);
  if (!g->ifindex) { fail(err, errlen, ifname); close_loop(g); return -1; }
  g->wake = eventfd(0, EFD_NONBLOCK);   /* one eventfd, never read: once written it wakes every thread's poll */
  if (g->wake < 0) { fail(err, errlen, "eventfd"); close_loop(g); return -1; }
  for (i = 0; i < threads; i++) {
    struct dd_worker *l = calloc(1, sizeof(*l));
    if (!l) { snprintf(err, errlen, "out of memory"); close_loop(g); return -1; }
    g->w[g->n++] = l;
    l->t = t; l->g = g; l->rx = l->tx = -1; l->vnet = vnet; l->v2 = v2; l->spin_us = spin_us;
    memcpy(l->mac, mac, 6);
    if (open_worker(g, l, threads, filter, &group, err, errlen)) { close_loop(g); return -1; }
  }
  for (i = 0; i < threads; i++) {
    struct dd_worker *l = g->w[i];
    char name[16];
    if (pthread_create(&l->thread, NULL, v2 ? loop_main_v2 : loop_main, l)) { fail(err, errlen, "pthread_create"); close_loop(g); return -1; }
    l->started = 1;
    snprintf(name, sizeof(name), "dd-packet-%u", i);   /* top -H, /proc/PID/task/TID/comm */
    pthread_setname_np(l->thread, name);
  }
  *out = g;
  return 0;
}

void dd_loop_stop(struct dd_loop *l) {
  if (l) close_loop(l);
}

/* Summed over the threads' sockets (each one's PACKET_STATISTICS resets on read). */
uint64_t dd_loop_ring_drops(struct dd_loop *l) {
  uint64_t sum = 0;
  if (!l) return 0;
  for (unsigned i = 0; i < l->n; i++) {
    struct tpacket_stats_v3 st;
    socklen_t len = sizeof(st);
    if (!getsockopt(l->w[i]->rx, SOL_PACKET, PACKET_STATISTICS, &st, &len)) sum += st.tp_drops;
  }
  return sum;
}

/* Frames each thread has taken from its ring since start (how evenly the fanout hash spreads the flows). */
unsigned dd_loop_thread_frames(const struct dd_loop *l, uint64_t *out, unsigned max) {
  unsigned i;
  if (!l) return 0;
  for (i = 0; i < l->n && i < max; i++) out[i] = __atomic_load_n(&l->w[i]->frames, __ATOMIC_RELAXED);
  return i;
}
