/* The AF_XDP backend's lifecycle and threads: a socket on every RX queue of the device, the program attached and
 * armed, then packet threads that each poll a contiguous group of queues (one queue each when there are enough
 * CPUs). Rings and the batch step are in afxdp_queue.c, the program and its maps in afxdp_attach.c. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "afxdp_int.h"
#include "forward.h"

int dd_xdp_fail(char *err, size_t errlen, const char *what, int code) {
  snprintf(err, errlen, "%s: %s", what, strerror(code < 0 ? -code : code));
  return -1;
}

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The device's RX queues as the kernel numbers rx_queue_index (real_num_rx_queues: /sys/class/net/IF/queues/rx-N). */
static uint32_t rx_queue_count(const char *ifname) {
  char dir[128];
  struct dirent *e;
  uint32_t n = 0;
  DIR *d;
  snprintf(dir, sizeof(dir), "/sys/class/net/%s/queues", ifname);
  if (!(d = opendir(dir))) return 1;
  while ((e = readdir(d))) if (!strncmp(e->d_name, "rx-", 3)) n++;
  closedir(d);
  return n ? n : 1;
}

static uint32_t usable_cpus(void) {
  cpu_set_t s;
  int n;
  if (sched_getaffinity(0, sizeof(s), &s)) return 1;
  n = CPU_COUNT(&s);
  return n > 0 ? (uint32_t)n : 1;
}

static int group_ready(void *arg) {
  struct dd_xdp_thread *th = arg;
  uint32_t i;
  if (th->x->stop) return 1;
  for (i = 0; i < th->count; i++) if (dd_xdpq_ready(&th->x->queues[th->first + i])) return 1;
  return 0;
}

static void *xdp_main(void *arg) {
  struct dd_xdp_thread *th = arg;
  struct dd_xdp *x = th->x;
  struct pollfd pf[DD_XDP_MAX_QUEUES + 1];
  uint32_t i;
  for (i = 0; i < th->count; i++) pf[i] = (struct pollfd){ xsk_socket__fd(x->queues[th->first + i].xsk), POLLIN, 0 };
  pf[th->count] = (struct pollfd){ x->wake, POLLIN, 0 };
  while (!x->stop) {
    int64_t now = mono_ms();
    uint32_t got = 0;
    int inflight = 0;
    for (i = 0; i < th->count; i++) got += dd_xdpq_step(&x->queues[th->first + i], now);
    if (got) continue;
    for (i = 0; i < th->count; i++) inflight |= dd_xdpq_idle(&x->queues[th->first + i]);
    if (dd_spin_for_frames(group_ready, th, x->spin_us)) continue;
    __atomic_fetch_add(&x->t->counters[DD_C_LOOP_WAKEUPS], 1, __ATOMIC_RELAXED);
    poll(pf, th->count + 1, inflight ? 1 : 100);
  }
  return NULL;
}

static void close_xdp(struct dd_xdp *x) {
  uint32_t i;
  dd_xdp_unload(x);
  for (i = 0; x->queues && i < x->nqueues; i++) dd_xdpq_close(&x->queues[i]);
  free(x->queues);
  free(x->threads);
  if (x->wake >= 0) close(x->wake);
  free(x);
}

int dd_xdp_start(struct dd_xdp **out, struct dd_table *t, const char *ifname, const uint8_t mac[6],
                 const char *objpath, int skb_mode, uint32_t spin_us, uint32_t threads, char *err, size_t errlen) {
  struct dd_xdp *x = calloc(1, sizeof(*x));
  uint32_t i, frames;
  if (!x) { snprintf(err, errlen, "out of memory"); return -1; }
  x->t = t; x->wake = -1;
  x->spin_us = spin_us;
  memcpy(x->mac, mac, 6);
  x->ifindex = (int)if_nametoindex(ifname);
  if (!x->ifindex) { dd_xdp_fail(err, errlen, ifname, errno); close_xdp(x); return -1; }
  x->wake = eventfd(0, EFD_NONBLOCK);
  if (x->wake < 0) { dd_xdp_fail(err, errlen, "eventfd", errno); close_xdp(x); return -1; }
  x->nqueues = rx_queue_count(ifname);
  if (x->nqueues > DD_XDP_MAX_QUEUES) {
    snprintf(err, errlen, "%s has %u RX queues, the AF_XDP backend serves at most %u", ifname, x->nqueues, DD_XDP_MAX_QUEUES);
    close_xdp(x); return -1;
  }
  /* Default: one CPU left to the control plane (health checks, heartbeats), as the AF_PACKET backend does. */
  x->nthreads = threads ? threads : usable_cpus() > 1 ? usable_cpus() - 1 : 1;
  if (x->nthreads > x->nqueues) x->nthreads = x->nqueues;
  /* Pinned memory: 16 MiB per queue up to 4 queues, then less per queue (at least 4 MiB each). */
  for (frames = 4096; frames > 1024 && frames * x->nqueues > 16384; frames /= 2) {}
  x->queues = calloc(x->nqueues, sizeof(*x->queues));
  x->threads = calloc(x->nthreads, sizeof(*x->threads));
  if (!x->queues || !x->threads) { snprintf(err, errlen, "out of memory"); close_xdp(x); return -1; }
  for (i = 0; i < x->nqueues; i++) {
    x->queues[i] = (struct dd_xdp_queue){ .x = x, .id = i, .frames = frames };
    if (dd_xdpq_open(&x->queues[i], ifname, err, errlen)) { close_xdp(x); return -1; }
  }
  if (dd_xdp_load(x, ifname, objpath, skb_mode, err, errlen) || dd_xdp_arm(x, ifname, err, errlen)) { close_xdp(x); return -1; }
  for (i = 0; i < x->nthreads; i++) {
    struct dd_xdp_thread *th = &x->threads[i];
    th->x = x;
    th->first = i * x->nqueues / x->nthreads;
    th->count = (i + 1) * x->nqueues / x->nthreads - th->first;
    if (pthread_create(&th->thread, NULL, xdp_main, th)) {
      dd_xdp_fail(err, errlen, "pthread_create", errno);
      dd_xdp_stop(x);
      return -1;
    }
    th->started = 1;
  }
  *out = x;
  return 0;
}

int dd_xdp_set_services(struct dd_xdp *x, const struct dd_xdp_key *keys, uint32_t n, char *err, size_t errlen) {
  struct dd_xdp_key k, next, *stale = NULL;
  uint8_t one = 1;
  uint32_t i, j, ns = 0, cap = 0;
  int rc, first = 1;
  for (i = 0; i < n; i++) {
    if ((rc = bpf_map_update_elem(x->services_fd, &keys[i], &one, BPF_ANY))) return dd_xdp_fail(err, errlen, "dd_services update", rc);
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
  uint32_t i;
  if (!x) return;
  /* Detach first: from here on VIP frames no longer reach the sockets. */
  dd_xdp_unload(x);
  x->stop = 1;
  if (write(x->wake, &one, sizeof(one)) < 0) { /* the poll timeout ends the loops anyway */ }
  for (i = 0; i < x->nthreads; i++) if (x->threads[i].started) pthread_join(x->threads[i].thread, NULL);
  close_xdp(x);
}

void dd_xdp_info(struct dd_xdp *x, struct dd_xdp_info *out) {
  uint32_t i;
  out->mode = x->mode == XDP_MODE_NATIVE ? "native" : "skb";
  out->dispatcher = x->dispatcher;
  out->queues = x->nqueues;
  out->threads = x->nthreads;
  out->zerocopy = x->nqueues > 0;
  for (i = 0; i < x->nqueues; i++) out->zerocopy &= x->queues[i].zerocopy;
}

uint64_t dd_xdp_queue_frames(struct dd_xdp *x, uint32_t i, uint32_t *queue) {
  *queue = x->queues[i].id;
  return __atomic_load_n(&x->queues[i].rx_frames, __ATOMIC_RELAXED);
}
