/* The AF_PACKET forwarding loop on its own pthread: a TPACKET_V3 RX ring (ETH_P_ALL, so it sees frames before
 * the netdev ingress drop) filtered by classic BPF from libpcap, and sendmmsg straight out of the ring with
 * PACKET_QDISC_BYPASS. PACKET_VNET_HDR on both sockets carries GSO/CHECKSUM_PARTIAL metadata across. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <pcap/pcap.h>
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

struct dd_loop {
  struct dd_table *t;
  int rx, tx, wake, vnet, ifindex, v2;
  uint32_t spin_us;
  unsigned cur;                 /* next ring slot (v2) or block (v3), for the spin check */
  uint8_t mac[6];
  uint8_t *ring;
  size_t ring_len;
  pthread_t thread;
  volatile int stop;
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  uint8_t reply[VNET_LEN + DD_REPLY_MAX];   /* an all-zero virtio-net header, then the reply frame */
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

/* libpcap compiles `filter` for the untagged frame. On a VLAN, a prefix first requires a tag in the skb's metadata
 * (BPF ancillary load: by the taps the receive path has always taken the outer tag out of the frame); which VLAN
 * and TPID is dd_parse_frame's to say, so a frame of another VLAN or a QinQ frame is counted `vlan` rather than
 * never seen. libpcap's own `vlan N` would test the tag inline only here: pcap_open_dead does not know it will run
 * on a Linux socket (BPF_SPECIAL_VLAN_HANDLING is set by a live capture only). */
int dd_loop_set_filter(struct dd_loop *l, const char *filter, char *err, size_t errlen) {
  static const struct sock_filter tagged[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_VLAN_TAG_PRESENT),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, 0),
  };
  const unsigned np = sizeof(tagged) / sizeof(tagged[0]);
  struct sock_filter *code = NULL;
  struct bpf_program prog;
  struct sock_fprog fp;
  pcap_t *p = pcap_open_dead(DLT_EN10MB, 262144);
  int rc, pre = l->t->vlan ? 1 : 0;
  if (!p) { snprintf(err, errlen, "pcap_open_dead failed"); return -1; }
  if (pcap_compile(p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
    snprintf(err, errlen, "bad filter: %s", pcap_geterr(p));
    pcap_close(p);
    return -1;
  }
  fp.len = (unsigned short)prog.bf_len;
  fp.filter = (struct sock_filter *)prog.bf_insns;
  if (pre) {
    code = malloc((prog.bf_len + np) * sizeof(*code));
    if (!code || prog.bf_len + np > BPF_MAXINSNS) {
      snprintf(err, errlen, "filter too long");
      free(code);
      pcap_freecode(&prog);
      pcap_close(p);
      return -1;
    }
    memcpy(code, tagged, sizeof(tagged));
    memcpy(code + np, prog.bf_insns, prog.bf_len * sizeof(*code));
    fp.len = (unsigned short)(prog.bf_len + np);
    fp.filter = code;
  }
  rc = setsockopt(l->rx, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof(fp));
  free(code);
  pcap_freecode(&prog);
  pcap_close(p);
  if (rc != 0) return fail(err, errlen, "SO_ATTACH_FILTER");
  return 0;
}

static void flush(struct dd_loop *l, unsigned n) {
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
static int step(struct dd_loop *l, uint8_t *f, uint32_t caplen, uint32_t wirelen, int32_t meta, int64_t now,
                struct iovec *iov) {
  uint32_t rlen = 0, vlen = l->vnet ? VNET_LEN : 0;
  int r = dd_forward_frame(l->t, f, caplen, wirelen, meta, now, l->mac, l->reply + VNET_LEN, &rlen);
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

static void walk_block(struct dd_loop *l, struct tpacket_block_desc *bd) {
  struct dd_table *t = l->t;
  struct tpacket3_hdr *h = (struct tpacket3_hdr *)((uint8_t *)bd + bd->hdr.bh1.offset_to_first_pkt);
  uint32_t i, n = bd->hdr.bh1.num_pkts;
  unsigned out = 0;
  int64_t now = dd_now_ms(), t0 = dd_batch_start();
  pthread_mutex_lock(&t->lock);
  for (i = 0; i < n; i++, h = (struct tpacket3_hdr *)((uint8_t *)h + h->tp_next_offset)) {
    uint8_t *f = (uint8_t *)h + h->tp_mac;
    if (!step(l, f, h->tp_snaplen, h->tp_len, ring_tag(h->tp_status, h->hv1.tp_vlan_tci, h->hv1.tp_vlan_tpid), now, &l->iov[out])) continue;
    out++;
    if (out == BATCH) { pthread_mutex_unlock(&t->lock); flush(l, out); out = 0; pthread_mutex_lock(&t->lock); }
  }
  pthread_mutex_unlock(&t->lock);
  dd_batch_end(t, t0);
  if (out) flush(l, out);
}

/* Spin check (dd_spin_for_frames): is the slot at l->cur handed to user space yet? */
static int v2_ready(void *arg) {
  struct dd_loop *l = arg;
  struct tpacket2_hdr *h = (struct tpacket2_hdr *)(l->ring + (size_t)l->cur * V2_FRAME_SIZE);
  return (__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) != 0 || l->stop;
}

/* V2: take every frame that is ready now (up to V2_BATCH), decide them under one lock and one clock read, send
 * them with one sendmmsg, then hand the slots back. Never waits for more frames than are already there. */
static void *loop_main_v2(void *arg) {
  struct dd_loop *l = arg;
  struct dd_table *t = l->t;
  unsigned cur = 0;
  struct tpacket2_hdr *batch[V2_BATCH];
  while (!l->stop) {
    unsigned n = 0, out = 0, k;
    int64_t now;
    while (n < V2_BATCH) {
      struct tpacket2_hdr *h = (struct tpacket2_hdr *)(l->ring + (size_t)((cur + n) % V2_FRAME_COUNT) * V2_FRAME_SIZE);
      if (!(__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER)) break;
      batch[n++] = h;
    }
    if (n == 0) {
      struct pollfd pf[2] = { { l->rx, POLLIN | POLLERR, 0 }, { l->wake, POLLIN, 0 } };
      l->cur = cur;
      if (dd_spin_for_frames(v2_ready, l, l->spin_us)) continue;
      __atomic_fetch_add(&t->counters[DD_C_LOOP_WAKEUPS], 1, __ATOMIC_RELAXED);
      poll(pf, 2, 100);
      continue;
    }
    now = dd_now_ms();
    int64_t t0 = dd_batch_start();
    pthread_mutex_lock(&t->lock);
    for (k = 0; k < n; k++) {
      struct tpacket2_hdr *h = batch[k];
      uint8_t *f = (uint8_t *)h + h->tp_mac;
      if (!step(l, f, h->tp_snaplen, h->tp_len, ring_tag(h->tp_status, h->tp_vlan_tci, h->tp_vlan_tpid), now, &l->iov[out])) continue;
      out++;
    }
    pthread_mutex_unlock(&t->lock);
    dd_batch_end(t, t0);
    if (out) flush(l, out);
    for (k = 0; k < n; k++) __atomic_store_n(&batch[k]->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
    cur = (cur + n) % V2_FRAME_COUNT;
  }
  return NULL;
}

static int v3_ready(void *arg) {
  struct dd_loop *l = arg;
  struct tpacket_block_desc *bd = (struct tpacket_block_desc *)(l->ring + (size_t)l->cur * BLOCK_SIZE);
  return (__atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) != 0 || l->stop;
}

static void *loop_main(void *arg) {
  struct dd_loop *l = arg;
  unsigned cur = 0;
  while (!l->stop) {
    struct tpacket_block_desc *bd = (struct tpacket_block_desc *)(l->ring + (size_t)cur * BLOCK_SIZE);
    if (!(__atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER)) {
      struct pollfd pf[2] = { { l->rx, POLLIN | POLLERR, 0 }, { l->wake, POLLIN, 0 } };
      l->cur = cur;
      if (dd_spin_for_frames(v3_ready, l, l->spin_us)) continue;
      __atomic_fetch_add(&l->t->counters[DD_C_LOOP_WAKEUPS], 1, __ATOMIC_RELAXED);
      poll(pf, 2, 100);
      continue;
    }
    walk_block(l, bd);
    __atomic_store_n(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
    cur = (cur + 1) % BLOCK_COUNT;
  }
  return NULL;
}

static void close_loop(struct dd_loop *l) {
  if (l->ring && l->ring != MAP_FAILED) munmap(l->ring, l->ring_len);
  if (l->rx >= 0) close(l->rx);
  if (l->tx >= 0) close(l->tx);
  if (l->wake >= 0) close(l->wake);
  free(l);
}

int dd_loop_start(struct dd_loop **out, struct dd_table *t, const char *ifname, const uint8_t mac[6],
                  const char *filter, int vnet, int v2, uint32_t spin_us, char *err, size_t errlen) {
  struct dd_loop *l = calloc(1, sizeof(*l));
  struct tpacket_req3 req;
  struct sockaddr_ll sll;
  int one = 1, ver = v2 ? TPACKET_V2 : TPACKET_V3;
  unsigned reserve = 4;   /* room to put a stripped 802.1Q tag back before sending */
  if (!l) { snprintf(err, errlen, "out of memory"); return -1; }
  l->t = t; l->rx = l->tx = l->wake = -1; l->vnet = vnet; l->v2 = v2;
  l->spin_us = spin_us;
  memcpy(l->mac, mac, 6);
  l->ifindex = (int)if_nametoindex(ifname);
  if (!l->ifindex) { fail(err, errlen, ifname); close_loop(l); return -1; }
  l->rx = socket(AF_PACKET, SOCK_RAW, 0);
  l->tx = socket(AF_PACKET, SOCK_RAW, 0);
  l->wake = eventfd(0, EFD_NONBLOCK);
  if (l->rx < 0 || l->tx < 0 || l->wake < 0) { fail(err, errlen, "socket(AF_PACKET)"); close_loop(l); return -1; }
  if (dd_loop_set_filter(l, filter, err, errlen)) { close_loop(l); return -1; }
  if (setsockopt(l->rx, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) ||
      (vnet && setsockopt(l->rx, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one))) ||
      (vnet && setsockopt(l->tx, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one))) ||
      setsockopt(l->tx, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) ||
      setsockopt(l->rx, SOL_PACKET, PACKET_VERSION, &ver, sizeof(ver)) ||
      setsockopt(l->rx, SOL_PACKET, PACKET_RESERVE, &reserve, sizeof(reserve))) {
    fail(err, errlen, "setsockopt(SOL_PACKET)"); close_loop(l); return -1;
  }
  memset(&req, 0, sizeof(req));
  if (v2) {
    req.tp_block_size = V2_FRAME_SIZE * V2_FRAMES_PER_BLOCK; req.tp_block_nr = V2_FRAME_COUNT / V2_FRAMES_PER_BLOCK;
    req.tp_frame_size = V2_FRAME_SIZE; req.tp_frame_nr = V2_FRAME_COUNT;
    l->ring_len = (size_t)V2_FRAME_SIZE * V2_FRAME_COUNT;
  } else {
    req.tp_block_size = BLOCK_SIZE; req.tp_block_nr = BLOCK_COUNT;
    req.tp_frame_size = 2048; req.tp_frame_nr = BLOCK_SIZE / 2048 * BLOCK_COUNT;
    req.tp_retire_blk_tov = 1;
    l->ring_len = (size_t)BLOCK_SIZE * BLOCK_COUNT;
  }
  if (setsockopt(l->rx, SOL_PACKET, PACKET_RX_RING, &req, v2 ? sizeof(struct tpacket_req) : sizeof(req))) {
    fail(err, errlen, "PACKET_RX_RING"); close_loop(l); return -1;
  }
  l->ring = mmap(NULL, l->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED, l->rx, 0);
  if (l->ring == MAP_FAILED) l->ring = mmap(NULL, l->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED, l->rx, 0);
  if (l->ring == MAP_FAILED) { fail(err, errlen, "mmap(ring)"); close_loop(l); return -1; }
  memset(&sll, 0, sizeof(sll));
  sll.sll_family = AF_PACKET; sll.sll_protocol = htons(ETH_P_ALL); sll.sll_ifindex = l->ifindex;
  if (bind(l->rx, (struct sockaddr *)&sll, sizeof(sll))) { fail(err, errlen, "bind(rx)"); close_loop(l); return -1; }
  sll.sll_protocol = 0;
  if (bind(l->tx, (struct sockaddr *)&sll, sizeof(sll))) { fail(err, errlen, "bind(tx)"); close_loop(l); return -1; }
  for (unsigned i = 0; i < BATCH; i++) {
    memset(&l->msgs[i], 0, sizeof(l->msgs[i]));
    l->msgs[i].msg_hdr.msg_iov = &l->iov[i];
    l->msgs[i].msg_hdr.msg_iovlen = 1;
  }
  if (pthread_create(&l->thread, NULL, v2 ? loop_main_v2 : loop_main, l)) { fail(err, errlen, "pthread_create"); close_loop(l); return -1; }
  *out = l;
  return 0;
}

void dd_loop_stop(struct dd_loop *l) {
  uint64_t one = 1;
  if (!l) return;
  l->stop = 1;
  if (write(l->wake, &one, sizeof(one)) < 0) { /* the 100 ms poll timeout ends the loop anyway */ }
  pthread_join(l->thread, NULL);
  close_loop(l);
}

uint64_t dd_loop_ring_drops(struct dd_loop *l) {
  struct tpacket_stats_v3 st;
  socklen_t len = sizeof(st);
  if (!l || getsockopt(l->rx, SOL_PACKET, PACKET_STATISTICS, &st, &len)) return 0;
  return st.tp_drops;
}
