/* The per-frame step shared by every packet loop (AF_PACKET v2/v3, AF_XDP): count, parse, decide, rewrite the
 * MACs. Called with the table lock held (dd_table_lock). `meta`: the 802.1Q tag the receive path took out of the frame (DD_TAG_NONE,
 * DD_TAG_OTHER or the TCI). Returns 1 when the frame is to be sent on, 3 when it is to be sent on with the TCI
 * `meta` put back inline after the MACs (the caller has 4 bytes of room before f), 2 when instead the reply written
 * to `reply` (DD_REPLY_MAX bytes, *replylen long) is to be sent (an ICMP port unreachable for DD_V_NO_DEST, a TCP
 * RST for DD_V_DEST_CLOSED), 0 when
 * the frame was counted as a drop and nothing is sent. */
#ifndef DIRECTORD_FORWARD_H
#define DIRECTORD_FORWARD_H
#include <string.h>
#include <time.h>
#include "core.h"
#include "prefetch.h"

/* `hint`: what the loop's prefetch pass found in this frame (prefetch.h), or NULL. */
static inline int dd_forward_frame_hinted(struct dd_table *t, uint8_t *f, uint32_t caplen, uint32_t wirelen, int32_t meta,
                                          int64_t now, const uint8_t mac[6], uint8_t *reply, uint32_t *replylen,
                                          const struct dd_hint *hint) {
  struct dd_pkt p;
  struct dd_decision dc;
  int v;
  t->counters[DD_C_RX_FRAMES]++;
  t->counters[DD_C_RX_BYTES] += wirelen;
  if (caplen < wirelen) v = DD_V_TRUNCATED;
  else if (!t->forwarding) v = DD_V_NOT_ACTIVE;
  else v = dd_parse_frame_vlan(f, caplen, t->vlan, meta, &p);
  if (v == DD_V_FORWARD) { dd_process_hashed(t, &p, dd_hint_hash(hint, &p), now, &dc); v = dc.verdict; }
  if (v != DD_V_FORWARD) {
    t->verdicts[v]++;
    if (v == DD_V_NO_DEST && (*replylen = dd_icmp_unreach(t, f, p.l2, mac, now, reply)) != 0) return 2;
    if (v == DD_V_DEST_CLOSED && (*replylen = dd_tcp_reset(t, f, p.l2, mac, reply)) != 0) return 2;
    return 0;
  }
  memcpy(f, t->dests[dc.dest].mac, 6);
  memcpy(f + 6, mac, 6);
  return meta >= 0 ? 3 : 1;
}

static inline int dd_forward_frame(struct dd_table *t, uint8_t *f, uint32_t caplen, uint32_t wirelen, int32_t meta, int64_t now,
                                   const uint8_t mac[6], uint8_t *reply, uint32_t *replylen) {
  return dd_forward_frame_hinted(t, f, caplen, wirelen, meta, now, mac, reply, replylen, NULL);
}

/* For a result of 3: the frame moved 4 bytes earlier, its tag back between the MACs and the ethertype. */
static inline uint8_t *dd_insert_tag(uint8_t *f, int32_t meta) {
  memmove(f - 4, f, 12);
  f[8] = 0x81;
  f[9] = 0x00;
  f[10] = (uint8_t)(meta >> 8);
  f[11] = (uint8_t)meta;
  return f - 4;
}

/* A batch's clock in ms (the table's `now`) from the ns that dd_table_lock returned: the same CLOCK_MONOTONIC
 * value dd_now_ms would read, without a second read per batch. */
static inline int64_t dd_ns_to_ms(int64_t ns) { return ns / 1000000; }

/* Keeps the longest batch in DD_C_LOOP_MAX_US (the packet path's worst stall, e.g. an expiry burst): from when it
 * asked for the lock (dd_table_lock's return) to when it let go (dd_table_unlock's), lock wait included. */
static inline void dd_batch_end(struct dd_table *t, int64_t start_ns, int64_t end_ns) {
  uint64_t us = (uint64_t)((end_ns - start_ns) / 1000);
  uint64_t cur = __atomic_load_n(&t->counters[DD_C_LOOP_MAX_US], __ATOMIC_RELAXED);
  /* A compare-and-swap: with several packet threads a plain store could replace a larger maximum. */
  while (us > cur && !__atomic_compare_exchange_n(&t->counters[DD_C_LOOP_MAX_US], &cur, us, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {}
}

/* A spin-wait hint to the CPU (saves power, yields to a sibling hyperthread); nothing where it has none. */
static inline void dd_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

/* Before a packet loop sleeps in poll(), it may spin on its ring for up to `us` microseconds: a frame that arrives
 * meanwhile is taken without a wake-up, which the kernel would pay for on the receiving CPU (an IPI per sleep).
 * Returns 1 as soon as ready(arg) says a frame is there, 0 when the time is up. */
static inline int dd_spin_for_frames(int (*ready)(void *), void *arg, uint32_t us) {
  struct timespec a, b;
  if (!us) return 0;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (;;) {
    for (int i = 0; i < 64; i++) {
      if (ready(arg)) return 1;
      dd_cpu_relax();
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    if ((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) >= (long)us * 1000L) return 0;
  }
}

#endif
