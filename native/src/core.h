/* The pure data-plane core's API: services, dests, schedulers and the connection table (no sockets, no threads).
 * The packet loops and the test entries both call dd_process(); callers serialise access with dd_table_lock().
 * conntable.c owns the table's memory, keyed hash, timer wheel and eviction; core.c the per-packet decisions.
 * The types these work on are in table.h. */
#ifndef DIRECTORD_CORE_H
#define DIRECTORD_CORE_H
#include <stdint.h>
#include <time.h>
#include "table.h"

struct dd_table *dd_table_new(uint32_t size);
void dd_table_free(struct dd_table *t);
void dd_set_timeouts(struct dd_table *t, uint32_t tcp_s, uint32_t tcpfin_s, uint32_t udp_s);
/* Replace the policy; returns 0 or a negative error (too many dests/services). */
int dd_set_services(struct dd_table *t, const struct dd_service_spec *svcs, uint32_t nsvc,
                    const struct dd_dest_spec *dests, uint32_t ndest);
/* Fire timers due by `now` in (expiry time, templates first) order, at most `budget` operations this millisecond
 * (DD_EXPIRE_BUDGET from the packet path, DD_EXPIRE_ALL for read-outs). */
void dd_expire(struct dd_table *t, int64_t now, uint32_t budget);
void dd_process(struct dd_table *t, const struct dd_pkt *p, int64_t now, struct dd_decision *d);
/* Verdict of the frame parser; fills p when DD_V_FORWARD. `vlan`: the VLAN id served (0 untagged); `meta`: the tag
 * the receive path took out of the frame (DD_TAG_*, or the TCI). VLAN id 0 (a priority tag) counts as untagged. */
int dd_parse_frame_vlan(const uint8_t *f, uint32_t len, uint16_t vlan, int32_t meta, struct dd_pkt *p);
/* An untagged frame on an untagged configuration. */
int dd_parse_frame(const uint8_t *f, uint32_t len, struct dd_pkt *p);
/* For a DD_V_NO_DEST frame (already parsed, so its headers are in bounds): writes an ICMP port unreachable from
 * `ourmac` to the frame's sender into out (DD_REPLY_MAX bytes) and returns its length, or 0 when the rate limit
 * (or the sender's address) says no reply. `l2`: the frame's Ethernet header length; the reply carries a tag
 * with t->vlan when that is set. */
uint32_t dd_icmp_unreach(struct dd_table *t, const uint8_t *f, uint32_t l2, const uint8_t ourmac[6], int64_t now, uint8_t *out);
/* For a DD_V_DEST_CLOSED frame: writes the TCP RST to its client (from VIP:port) into out (DD_REPLY_MAX bytes) and
 * returns its length, or 0 when none is due (the segment is a RST). Same Ethernet/VLAN rules as dd_icmp_unreach. */
uint32_t dd_tcp_reset(struct dd_table *t, const uint8_t *f, uint32_t l2, const uint8_t ourmac[6], uint8_t *out);
uint32_t dd_stats(struct dd_table *t, struct dd_dest_stats *out, uint32_t max);
uint32_t dd_connections(struct dd_table *t, int64_t now, struct dd_conn_record *out, uint32_t max);
uint32_t dd_drain_sync(struct dd_table *t, struct dd_conn_record *out, uint32_t max);
/* Insert or refresh synced records as-is; returns the number applied. */
uint32_t dd_apply_sync(struct dd_table *t, const struct dd_conn_record *in, uint32_t n, int64_t now);
uint32_t dd_sh_hash(uint32_t saddr);
/* Used by dd_apply_sync: insert a record's entry (counted like a scheduled one, not counted in conns). */
uint32_t dd_conn_insert(struct dd_table *t, const struct dd_conn_record *r, uint32_t dest, uint16_t svc, int64_t now);
void dd_conn_rearm(struct dd_table *t, uint32_t i, int64_t now);
/* An invalid template leaves the lookup (rehashed with ports 0xffff) and ages out; its connections keep it. */
void dd_template_invalidate(struct dd_table *t, uint32_t ti);
/* The live entry for a key: one whose expiry is due but not yet run (budget carried over) is expired first. */
uint32_t dd_lookup(struct dd_table *t, uint8_t tmpl, uint8_t proto, uint32_t caddr, uint16_t cport, uint32_t vaddr,
                   uint16_t vport, int64_t now);
/* The same with the key's dd_conn_hash already computed (a packet loop's prefetch pass: prefetch.h). */
uint32_t dd_lookup_hashed(struct dd_table *t, uint32_t hash, uint8_t tmpl, uint8_t proto, uint32_t caddr, uint16_t cport,
                          uint32_t vaddr, uint16_t vport, int64_t now);
/* dd_process with the hash of the packet's connection key (tmpl 0, proto, saddr, sport, daddr, dport) when the caller
 * has it (NULL: computed here); it serves the lookup and, for a new connection, its insertion. */
void dd_process_hashed(struct dd_table *t, const struct dd_pkt *p, const uint32_t *hash, int64_t now, struct dd_decision *d);

/* conntable.c internals shared with core.c */
uint32_t dd_conn_new(struct dd_table *t, uint8_t tmpl, uint8_t proto, uint32_t caddr, uint16_t cport, uint32_t vaddr,
                     uint16_t vport, uint32_t dest, uint16_t svc, uint16_t dport, int64_t now, int may_evict,
                     const uint32_t *hash);   /* hash: the key's dd_conn_hash, or NULL */
void dd_conn_free(struct dd_table *t, uint32_t i);
void dd_conn_expire(struct dd_table *t, uint32_t i, int64_t now);
void dd_conn_established(struct dd_table *t, uint32_t i);
void dd_hash_in(struct dd_table *t, uint32_t i);
void dd_hash_out(struct dd_table *t, uint32_t i);
/* The full 32-bit connection hash of a key under the table's key (tests: two tables, two keys). */
uint32_t dd_conn_hash(const struct dd_table *t, uint8_t tmpl, uint8_t proto, uint32_t caddr, uint16_t cport,
                      uint32_t vaddr, uint16_t vport);
/* Tests only: replace the key of an empty table; returns -1 when the table holds entries. */
int dd_set_hash_key(struct dd_table *t, uint64_t k0, uint64_t k1);

/* The one table lock, taken by every packet thread once per batch and by every control call. One lock, not shards:
 * a batch (up to 256 frames) touches the shared wheel, free list, eviction list, scheduler state and dest counters,
 * so sharding by bucket would still serialise on those; docs/dataplane.md "More than one packet thread" has the
 * measured contention. A try first, so the uncontended path costs one atomic; a wait is counted and timed, and so
 * is the time held (one clock read at each end, per batch: the serial part of the packet path, against which N
 * threads can scale). The counters are written under the lock, so they are exact. Both return their clock read
 * (CLOCK_MONOTONIC, ns), which the packet loops reuse as the batch's `now` and its stall (dd_batch_end) instead of
 * reading the clock again: lock returns when the attempt began (before any wait), unlock when the hold ended. */
static inline int64_t dd_lock_clock_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline int64_t dd_table_lock(struct dd_table *t) {
  int64_t a;
  if (pthread_mutex_trylock(&t->lock) == 0) {
    t->counters[DD_C_LOCK_TAKEN]++;
    t->locked_at_ns = dd_lock_clock_ns();
    return t->locked_at_ns;
  }
  a = dd_lock_clock_ns();
  pthread_mutex_lock(&t->lock);
  t->locked_at_ns = dd_lock_clock_ns();
  t->counters[DD_C_LOCK_TAKEN]++;
  t->counters[DD_C_LOCK_CONTENDED]++;
  t->counters[DD_C_LOCK_WAIT_NS] += (uint64_t)(t->locked_at_ns - a);
  return a;
}

static inline int64_t dd_table_unlock(struct dd_table *t) {
  int64_t end = dd_lock_clock_ns();
  t->counters[DD_C_LOCK_HOLD_NS] += (uint64_t)(end - t->locked_at_ns);
  pthread_mutex_unlock(&t->lock);
  return end;
}

#endif
