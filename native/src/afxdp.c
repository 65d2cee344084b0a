/* The AF_XDP forwarding loop: load directord_xdp.bpf.o with libbpf, attach it (native mode, else generic), bind
 * one XSK socket with libxdp (zero-copy where the driver can, copy mode on veth; need_wakeup) and forward frames
 * in place: an RX descriptor that is forwarded goes straight onto the TX ring, its completion back to the fill ring. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/xsk.h>
#include "afxdp.h"
#include "forward.h"

#define PROG_NAME "directord_xdp"
#define FRAME_SIZE 4096u
#define NUM_FRAMES 4096u        /* == fill ring size: every frame fits back on the fill ring, recycling never fails */
#define RX_SIZE 2048u
#define TX_SIZE 2048u
#define BATCH 256u
#define DROPS_EVERY_MS 100

struct dd_xdp {
  struct dd_table *t;
  int ifindex, wake, attach_flags, zerocopy;
  uint8_t mac[6];
  struct bpf_object *obj;
  int services_fd;
  void *umem_area;
  struct xsk_umem *umem;
  struct xsk_socket *xsk;
  struct xsk_ring_prod fq, tx;
  struct xsk_ring_cons cq, rx;
  uint32_t tx_outstanding, spin_us;
  uint64_t drops_seen;
  int64_t drops_at;
  pthread_t thread;
  int started;
  volatile int stop;
};

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int failc(char *err, size_t errlen, const char *what, int code) {
  snprintf(err, errlen, "%s: %s", what, strerror(code < 0 ? -code : code));
  return -1;
}

/* libbpf's own codes (e.g. LIBBPF_ERRNO__FORMAT for a file that is not a BPF ELF object) have no strerror text. */
static int failb(char *err, size_t errlen, const char *what, int code) {
  char msg[256];
  if (libbpf_strerror(code < 0 ? code : -code, msg, sizeof(msg))) snprintf(msg, sizeof(msg), "error %d", code);
  snprintf(err, errlen, "%s: %s", what, msg);
  return -1;
}

static void recycle(struct dd_xdp *x, const uint64_t *addrs, uint32_t n) {
  uint32_t idx, i;
  if (!n) return;
  /* Cannot fail: at most NUM_FRAMES frames exist and the fill ring holds NUM_FRAMES. */
  while (xsk_ring_prod__reserve(&x->fq, n, &idx) != n) { /* unreachable by sizing */ }
  for (i = 0; i < n; i++) *xsk_ring_prod__fill_addr(&x->fq, idx + i) = addrs[i] & ~(uint64_t)(FRAME_SIZE - 1);
  xsk_ring_prod__submit(&x->fq, n);
}

static void reclaim_completions(struct dd_xdp *x) {
  uint32_t idx, n = xsk_ring_cons__peek(&x->cq, NUM_FRAMES, &idx), i, fidx;
  if (!n) return;
  while (xsk_ring_prod__reserve(&x->fq, n, &fidx) != n) { /* unreachable by sizing */ }
  for (i = 0; i < n; i++)
    *xsk_ring_prod__fill_addr(&x->fq, fidx + i) = *xsk_ring_cons__comp_addr(&x->cq, idx + i) & ~(uint64_t)(FRAME_SIZE - 1);
  xsk_ring_prod__submit(&x->fq, n);
  xsk_ring_cons__release(&x->cq, n);
  x->tx_outstanding -= n;
}

/* Copy mode transmits only inside sendmsg, a bounded batch per call: kick until the kernel has taken the ring. */
static void kick_tx(struct dd_xdp *x) {
  int i;
  if (x->zerocopy && !xsk_ring_prod__needs_wakeup(&x->tx)) return;
  for (i = 0; i < 128; i++) {
    if (sendto(xsk_socket__fd(x->xsk), NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0) return;
    if (errno != EAGAIN && errno != EBUSY && errno != ENOBUFS) return;
    reclaim_completions(x);
  }
}

static void count_ring_drops(struct dd_xdp *x, int64_t now) {
  struct xdp_statistics st;
  socklen_t len = sizeof(st);
  uint64_t total;
  if (now - x->drops_at < DROPS_EVERY_MS) return;
  x->drops_at = now;
  if (getsockopt(xsk_socket__fd(x->xsk), SOL_XDP, XDP_STATISTICS, &st, &len)) return;
  total = st.rx_dropped + st.rx_ring_full + st.rx_fill_ring_empty_descs;
  if (total > x->drops_seen) {
    __atomic_fetch_add(&x->t->counters[DD_C_RING_DROPS], total - x->drops_seen, __ATOMIC_RELAXED);
    x->drops_seen = total;
  }
}

/* 0 when it cannot be read (the caller then uses the umem frame size). */
static uint32_t interface_mtu(const char *ifname) {
  struct ifreq ifr;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc;
  if (fd < 0) return 0;
  memset(&ifr, 0, sizeof(ifr));
  snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
  rc = ioctl(fd, SIOCGIFMTU, &ifr);
  close(fd);
  return rc ? 0 : (uint32_t)ifr.ifr_mtu;
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

static int rx_ready(void *arg) {
  struct dd_xdp *x = arg;
  return xsk_cons_nb_avail(&x->rx, 1) > 0 || x->stop;
}

static void *xdp_main(void *arg) {
  struct dd_xdp *x = arg;
  struct dd_table *t = x->t;
  uint64_t fwd[BATCH], drop[BATCH];
  uint32_t fwd_len[BATCH];
  while (!x->stop) {
    uint32_t idx = 0, n, i, nf = 0, nd = 0, sent = 0;
    int64_t now;
    reclaim_completions(x);
    n = xsk_ring_cons__peek(&x->rx, BATCH, &idx);
    now = mono_ms();
    count_ring_drops(x, now);
    if (!n) {
      struct pollfd pf[2] = { { xsk_socket__fd(x->xsk), POLLIN, 0 }, { x->wake, POLLIN, 0 } };
      if (x->tx_outstanding) kick_tx(x);
      if (dd_spin_for_frames(rx_ready, x, x->spin_us)) continue;
      __atomic_fetch_add(&t->counters[DD_C_LOOP_WAKEUPS], 1, __ATOMIC_RELAXED);
      poll(pf, 2, x->tx_outstanding ? 1 : 100);
      continue;
    }
    int64_t t0 = dd_batch_start();
    pthread_mutex_lock(&t->lock);
    for (i = 0; i < n; i++) {
      const struct xdp_desc *d = xsk_ring_cons__rx_desc(&x->rx, idx + i);
      uint8_t *f = xsk_umem__get_data(x->umem_area, d->addr);
      uint8_t reply[DD_REPLY_MAX];
      uint32_t rlen = 0;
      int r = dd_forward_frame(t, f, d->len, d->len, DD_TAG_NONE, now, x->mac, reply, &rlen);   /* XDP sees tags inline */
      if (r == 2) memcpy(f, reply, rlen);   /* the reply takes the frame's place in its 4 KiB chunk */
      if (r) {
        fwd[nf] = d->addr;
        fwd_len[nf++] = r == 2 ? rlen : d->len;
      }
      else drop[nd++] = d->addr;
    }
    pthread_mutex_unlock(&t->lock);
    dd_batch_end(t, t0);
    for (i = 0; i < nf; i++) complete_partial_csum(xsk_umem__get_data(x->umem_area, fwd[i]), fwd_len[i]);
    xsk_ring_cons__release(&x->rx, n);
    while (sent < nf) {
      uint32_t want = nf - sent, got, tidx;
      got = xsk_ring_prod__reserve(&x->tx, want, &tidx);
      if (!got) {
        kick_tx(x);
        reclaim_completions(x);
        got = xsk_ring_prod__reserve(&x->tx, want, &tidx);
        if (!got) break;
      }
      for (i = 0; i < got; i++) {
        struct xdp_desc *d = xsk_ring_prod__tx_desc(&x->tx, tidx + i);
        d->addr = fwd[sent + i];
        d->len = fwd_len[sent + i];
      }
      xsk_ring_prod__submit(&x->tx, got);
      x->tx_outstanding += got;
      sent += got;
    }
    if (sent < nf) {
      __atomic_fetch_add(&t->verdicts[DD_V_TX_ERROR], nf - sent, __ATOMIC_RELAXED);
      recycle(x, fwd + sent, nf - sent);
    }
    if (sent) {
      __atomic_fetch_add(&t->counters[DD_C_TX_FRAMES], sent, __ATOMIC_RELAXED);
      kick_tx(x);
    }
    recycle(x, drop, nd);
  }
  return NULL;
}

static void close_xdp(struct dd_xdp *x) {
  if (x->attach_flags) bpf_xdp_detach(x->ifindex, x->attach_flags, NULL);
  if (x->xsk) xsk_socket__delete(x->xsk);
  if (x->umem) xsk_umem__delete(x->umem);
  if (x->umem_area && x->umem_area != MAP_FAILED) munmap(x->umem_area, (size_t)NUM_FRAMES * FRAME_SIZE);
  if (x->obj) bpf_object__close(x->obj);
  if (x->wake >= 0) close(x->wake);
  free(x);
}

int dd_xdp_remove_stale(const char *ifname, char *err, size_t errlen) {
  int ifindex = (int)if_nametoindex(ifname);
  LIBBPF_OPTS(bpf_xdp_query_opts, q);
  __u32 ids[2];
  int modes[2] = { XDP_FLAGS_DRV_MODE, XDP_FLAGS_SKB_MODE }, removed = 0, rc, i;
  if (!ifindex) return failc(err, errlen, ifname, errno);
  rc = bpf_xdp_query(ifindex, 0, &q);
  if (rc) return failc(err, errlen, "bpf_xdp_query", rc);
  ids[0] = q.drv_prog_id; ids[1] = q.skb_prog_id;
  if (q.hw_prog_id) { snprintf(err, errlen, "%s has an offloaded XDP program (id %u)", ifname, q.hw_prog_id); return -1; }
  for (i = 0; i < 2; i++) {
    struct bpf_prog_info info;
    __u32 len = sizeof(info);
    int fd;
    if (!ids[i]) continue;
    memset(&info, 0, sizeof(info));
    fd = bpf_prog_get_fd_by_id(ids[i]);
    if (fd < 0) return failc(err, errlen, "bpf_prog_get_fd_by_id", errno);
    rc = bpf_obj_get_info_by_fd(fd, &info, &len);
    close(fd);
    if (rc) return failc(err, errlen, "bpf_obj_get_info_by_fd", rc);
    if (strncmp(info.name, PROG_NAME, sizeof(info.name)) != 0) {
      snprintf(err, errlen, "%s already has another XDP program attached (%s, id %u)", ifname, info.name, ids[i]);
      return -1;
    }
    rc = bpf_xdp_detach(ifindex, modes[i], NULL);
    if (rc) return failc(err, errlen, "bpf_xdp_detach (stale program)", rc);
    removed = 1;
  }
  return removed;
}

int dd_xdp_start(struct dd_xdp **out, struct dd_table *t, const char *ifname, const uint8_t mac[6],
                 const char *objpath, int skb_mode, uint32_t spin_us, char *err, size_t errlen) {
  struct dd_xdp *x = calloc(1, sizeof(*x));
  struct bpf_program *prog;
  struct xsk_umem_config ucfg = { .fill_size = NUM_FRAMES, .comp_size = NUM_FRAMES, .frame_size = FRAME_SIZE,
                                  .frame_headroom = 0, .flags = 0 };
  struct xsk_socket_config scfg;
  struct xdp_options opts;
  socklen_t optlen = sizeof(opts);
  uint64_t cfg = 0;
  uint32_t zero = 0, i, idx;
  int rc, prog_fd, xsks_fd, cfg_fd, sock_fd;
  if (!x) { snprintf(err, errlen, "out of memory"); return -1; }
  x->t = t; x->wake = -1;
  x->spin_us = spin_us;
  memcpy(x->mac, mac, 6);
  x->ifindex = (int)if_nametoindex(ifname);
  if (!x->ifindex) { failc(err, errlen, ifname, errno); close_xdp(x); return -1; }
  x->wake = eventfd(0, EFD_NONBLOCK);
  if (x->wake < 0) { failc(err, errlen, "eventfd", errno); close_xdp(x); return -1; }
  libbpf_set_print(NULL);
  x->obj = bpf_object__open_file(objpath, NULL);
  if (!x->obj) { x->obj = NULL; failb(err, errlen, "open XDP object", errno); close_xdp(x); return -1; }
  rc = bpf_object__load(x->obj);
  if (rc) { failb(err, errlen, "load XDP program", rc); close_xdp(x); return -1; }
  prog = bpf_object__find_program_by_name(x->obj, PROG_NAME);
  x->services_fd = bpf_object__find_map_fd_by_name(x->obj, "dd_services");
  xsks_fd = bpf_object__find_map_fd_by_name(x->obj, "dd_xsks");
  cfg_fd = bpf_object__find_map_fd_by_name(x->obj, "dd_config");
  if (!prog || x->services_fd < 0 || xsks_fd < 0 || cfg_fd < 0) {
    snprintf(err, errlen, "%s is not directord's XDP object (program or maps missing)", objpath);
    close_xdp(x); return -1;
  }
  {
    /* The socket takes frames up to the MTU (and what fits a umem frame behind XDP's headroom); longer ones are
     * GSO frames for the AF_PACKET path. The config value is bytes: MAC, then that length big-endian. */
    uint8_t *c = (uint8_t *)&cfg;
    uint32_t maxlen = interface_mtu(ifname) + 14;
    if (maxlen > FRAME_SIZE - XDP_PACKET_HEADROOM || maxlen == 14) maxlen = FRAME_SIZE - XDP_PACKET_HEADROOM;
    memcpy(c, mac, 6);
    c[6] = (uint8_t)(maxlen >> 8);
    c[7] = (uint8_t)maxlen;
  }
  if ((rc = bpf_map_update_elem(cfg_fd, &zero, &cfg, BPF_ANY))) { failc(err, errlen, "dd_config", rc); close_xdp(x); return -1; }
  {
    uint32_t one = 1;
    uint64_t vlan = t->vlan;   /* [1]: the VLAN id served, 0 for untagged */
    if ((rc = bpf_map_update_elem(cfg_fd, &one, &vlan, BPF_ANY))) { failc(err, errlen, "dd_config[1]", rc); close_xdp(x); return -1; }
  }

  x->umem_area = mmap(NULL, (size_t)NUM_FRAMES * FRAME_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (x->umem_area == MAP_FAILED) { x->umem_area = NULL; failc(err, errlen, "mmap(umem)", errno); close_xdp(x); return -1; }
  rc = xsk_umem__create(&x->umem, x->umem_area, (uint64_t)NUM_FRAMES * FRAME_SIZE, &x->fq, &x->cq, &ucfg);
  if (rc) { x->umem = NULL; failc(err, errlen, "xsk_umem__create", rc); close_xdp(x); return -1; }
  memset(&scfg, 0, sizeof(scfg));
  scfg.rx_size = RX_SIZE; scfg.tx_size = TX_SIZE;
  scfg.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;
  scfg.bind_flags = XDP_USE_NEED_WAKEUP;      /* zero-copy where the driver has it, copy mode otherwise */
  rc = xsk_socket__create(&x->xsk, ifname, 0, x->umem, &x->rx, &x->tx, &scfg);
  if (rc) { x->xsk = NULL; failc(err, errlen, "xsk_socket__create (queue 0)", rc); close_xdp(x); return -1; }
  sock_fd = xsk_socket__fd(x->xsk);
  if (!getsockopt(sock_fd, SOL_XDP, XDP_OPTIONS, &opts, &optlen)) x->zerocopy = (opts.flags & XDP_OPTIONS_ZEROCOPY) != 0;
  if (xsk_ring_prod__reserve(&x->fq, NUM_FRAMES, &idx) != NUM_FRAMES) { snprintf(err, errlen, "fill ring"); close_xdp(x); return -1; }
  for (i = 0; i < NUM_FRAMES; i++) *xsk_ring_prod__fill_addr(&x->fq, idx + i) = (uint64_t)i * FRAME_SIZE;
  xsk_ring_prod__submit(&x->fq, NUM_FRAMES);
  if ((rc = bpf_map_update_elem(xsks_fd, &zero, &sock_fd, BPF_ANY))) { failc(err, errlen, "dd_xsks", rc); close_xdp(x); return -1; }

  prog_fd = bpf_program__fd(prog);
  rc = skb_mode ? -1 : bpf_xdp_attach(x->ifindex, prog_fd, XDP_FLAGS_UPDATE_IF_NOEXIST | XDP_FLAGS_DRV_MODE, NULL);
  if (!rc) x->attach_flags = XDP_FLAGS_DRV_MODE;
  else {
    rc = bpf_xdp_attach(x->ifindex, prog_fd, XDP_FLAGS_UPDATE_IF_NOEXIST | XDP_FLAGS_SKB_MODE, NULL);
    if (rc) { failc(err, errlen, "attach XDP program", rc); close_xdp(x); return -1; }
    x->attach_flags = XDP_FLAGS_SKB_MODE;
  }
  if (pthread_create(&x->thread, NULL, xdp_main, x)) { failc(err, errlen, "pthread_create", errno); close_xdp(x); return -1; }
  x->started = 1;
  *out = x;
  return 0;
}

int dd_xdp_set_services(struct dd_xdp *x, const struct dd_xdp_key *keys, uint32_t n, char *err, size_t errlen) {
  struct dd_xdp_key k, next, *stale = NULL;
  uint8_t one = 1;
  uint32_t i, j, ns = 0, cap = 0;
  int rc, first = 1;
  for (i = 0; i < n; i++) {
    if ((rc = bpf_map_update_elem(x->services_fd, &keys[i], &one, BPF_ANY))) return failc(err, errlen, "dd_services update", rc);
  }
  /* Collect keys not in the new set first: deleting while iterating would restart the walk. */
  while (!bpf_map_get_next_key(x->services_fd, first ? NULL : &k, &next)) {
    int keep = 0;
    first = 0;
    k = next;
    for (j = 0; j < n && !keep; j++) keep = !memcmp(&keys[j], &next, sizeof(next));
    if (keep) continue;
    if (ns == cap) {
      struct dd_xdp_key *s = realloc(stale, sizeof(*s) * (cap = cap ? cap * 2 : 16));
      if (!s) { free(stale); snprintf(err, errlen, "out of memory"); return -1; }
      stale = s;
    }
    stale[ns++] = next;
  }
  for (i = 0; i < ns; i++) bpf_map_delete_elem(x->services_fd, &stale[i]);
  free(stale);
  return 0;
}

void dd_xdp_stop(struct dd_xdp *x) {
  uint64_t one = 1;
  if (!x) return;
  /* Detach first: from here on VIP frames no longer reach the socket. */
  if (x->attach_flags) bpf_xdp_detach(x->ifindex, x->attach_flags, NULL);
  x->attach_flags = 0;
  x->stop = 1;
  if (write(x->wake, &one, sizeof(one)) < 0) { /* the poll timeout ends the loop anyway */ }
  if (x->started) pthread_join(x->thread, NULL);
  close_xdp(x);
}

const char *dd_xdp_mode(struct dd_xdp *x) { return x->attach_flags == XDP_FLAGS_DRV_MODE ? "native" : "skb"; }
int dd_xdp_zerocopy(struct dd_xdp *x) { return x->zerocopy; }
