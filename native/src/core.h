/* The pure data-plane core: services, dests, schedulers and the connection table (no sockets, no threads).
 * The packet loops and the test entries both call dd_process(); callers serialise access with dd_table_lock().
 * conntable.c owns the table's memory, keyed hash, timer wheel and eviction; core.c the per-packet decisions. */
#ifndef DIRECTORD_CORE_H
#define DIRECTORD_CORE_H
#include <pthread.h>
#include <stdint.h>
#include <time.h>
#include "abi.h"

#define DD_NIL 0xffffffffu
#define DD_NO_DEST 0xffff
#define DD_MH_SIZE 4093
#define DD_WHEEL_BITS 16
#define DD_WHEEL (1u << DD_WHEEL_BITS)   /* one-millisecond slots (65.5 s); entries further out wait in the last one */
/* Expiry work (entries fired or moved) allowed per millisecond of the clock; the rest is carried over, so a second's
 * worth of due entries never stalls the packet loop. 2048/ms outruns any SYN rate one core can take in. */
#define DD_EXPIRE_BUDGET 2048u
#define DD_EXPIRE_ALL 0xffffffffu

/* ICMP port unreachables for DD_V_NO_DEST: a token bucket per table (the kernel's icmp_msgs_per_sec/_burst). */
#define DD_ICMP_RATE_PER_S 1000u
#define DD_ICMP_BURST 50u
/* A reply is at most Ethernet + IP + ICMP + the offending IP header (60) + 8 bytes of it (RFC 792). */
#define DD_REPLY_MAX (18u + 20u + 8u + 60u + 8u)   /* incl. an 802.1Q tag */
/* A frame's tag as the receive path left it in metadata (TPACKET tp_vlan_tci): none, a TCI (0..0xffff) of an
 * 802.1Q tag, or an outer tag of another TPID (802.1ad). */
#define DD_TAG_NONE (-1)
#define DD_TAG_OTHER (-2)
/* Fragments: (saddr, daddr, id, proto) of a first fragment -> its dest, for the later ones; direct-mapped. */
#define DD_FRAG_SLOTS 4096u
#define DD_FRAG_TIMEOUT_MS 2000

#define DD_PF_ICMP 1        /* an ICMP error: the fields describe the embedded flow, turned into the client's view */
#define DD_PF_FRAG_FIRST 2  /* first fragment of a datagram (MF, offset 0): ports present */
#define DD_PF_FRAG_LATER 4  /* a later fragment: no ports (sport = dport = 0), matched by ipid */

/* One parsed frame (or a packet summary from a test), host byte order. */
struct dd_pkt {
  uint32_t saddr, daddr, iplen;
  uint16_t sport, dport;
  uint8_t proto, tcpflags;
  uint8_t pflags;               /* DD_PF_* */
  uint16_t ipid;
  uint8_t l2;                   /* Ethernet header length: 14, or 18 with an inline 802.1Q tag */
};

struct dd_frag {
  uint32_t saddr, daddr, daddr_dest;  /* daddr_dest: the dest's address, so a reused dest slot never matches */
  int64_t expires;
  uint16_t ipid, dest;
  uint8_t proto, in_use;
};

#define DD_TH_FIN 0x01
#define DD_TH_SYN 0x02
#define DD_TH_RST 0x04
#define DD_TH_ACK 0x10

struct dd_decision {
  int verdict;
  uint32_t dest;                 /* dest slot, DD_NIL when none */
  uint32_t svc;                  /* service slot, DD_NIL when none */
  uint8_t state;                 /* connection state after the packet */
  uint8_t created;               /* a new connection was scheduled */
};

struct dd_dest {
  uint32_t addr;
  int32_t weight;
  uint16_t port;
  uint16_t svc;                 /* owning service slot, DD_NO_DEST once that service is gone */
  uint32_t kvip, kfwmark;       /* owning service's identity: a re-added service finds its trash dests */
  uint16_t kport;
  uint8_t kproto;
  uint8_t mac[6];
  uint8_t has_mac, in_use, available;
  uint8_t failed;               /* templates pointing here are invalid (check_template) */
  int32_t last_weight;          /* latest non-zero weight (mh builds from it) */
  uint32_t active, inact, persist, refcnt;
  uint64_t conns, in_pkts, in_bytes;
};

struct dd_service {
  uint8_t in_use, protocol, scheduler, expire_quiescent_template, expire_nodest_conn;
  uint32_t vip, pmask, fwmark, persistent_ms;
  uint16_t port;
  int spec_index;
  uint16_t ndests;
  uint16_t dests[DD_MAX_DESTS_PER_SERVICE];   /* dest slots in IPVS list order */
  uint64_t conns, in_pkts, in_bytes;
  int rr_pos;                                 /* -1 = list head */
  int wrr_pos, wrr_cw, wrr_mw, wrr_di;
  uint16_t sh[256];
  uint16_t *mh;                               /* DD_MH_SIZE dest slots, allocated on first use */
};

#define DD_CF_TEMPLATE 0x01
#define DD_CF_INACTIVE 0x02
#define DD_CF_USED 0x04
#define DD_CF_EMBRYO 0x08       /* TCP connection that never reached ESTABLISHED: on the eviction list */

struct dd_conn {
  uint32_t caddr, vaddr, daddr, fwmark;
  uint16_t cport, vport, dport;
  uint8_t proto, state, flags, pad;
  uint16_t dest, svc;
  uint32_t timeout_ms;
  int64_t expires;
  uint32_t hnext, wprev, wnext;
  uint32_t wslot;               /* wheel slot it is linked in (its time is recovered from wheel_ms), DD_NIL when none */
  uint32_t eprev, enext;        /* eviction list (DD_CF_EMBRYO), oldest first */
  uint32_t control, n_control;
};

struct dd_table {
  pthread_mutex_t lock;
  int64_t locked_at_ns;         /* when the holder took the lock (dd_table_lock), for DD_C_LOCK_HOLD_NS */
  uint32_t size, mask, used;
  struct dd_conn *conns;
  uint32_t *buckets;
  uint32_t free_head;
  uint64_t hkey[2];             /* SipHash key of the connection hash, from getrandom() per table */
  uint32_t *wheel, *wheel_tmpl; /* DD_WHEEL list heads (connections, templates); an entry sits in the slot of a
                                   time at or before its expiry */
  uint64_t *wheel_bits;         /* non-empty slots */
  int64_t wheel_ms;             /* next slot time to process: every linked entry's slot time is in [wheel_ms, +DD_WHEEL) */
  int64_t next_check;           /* no slot before this holds an entry */
  int64_t budget_ms;            /* clock value budget_left belongs to */
  uint32_t budget_left;
  uint32_t embryo_head, embryo_tail;
  struct dd_service svcs[DD_MAX_SERVICES];
  struct dd_dest dests[DD_MAX_DESTS];
  uint32_t timeouts_ms[DD_S_COUNT];
  uint64_t counters[DD_C_COUNT];
  uint64_t verdicts[DD_V_COUNT];
  struct dd_conn_record *sync;
  uint32_t sync_head, sync_count;
  int sync_enabled;
  volatile int forwarding;
  uint16_t vlan;                /* the VLAN id served (0: untagged); frames of any other are DD_V_VLAN */
  int64_t icmp_refill_ms;       /* token bucket of the port unreachables */
  uint32_t icmp_tokens;
  uint16_t icmp_ipid;
  uint8_t icmp_started;
  struct dd_frag frags[DD_FRAG_SLOTS];
};

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

/* conntable.c internals shared with core.c */
uint32_t dd_conn_new(struct dd_table *t, uint8_t tmpl, uint8_t proto, uint32_t caddr, uint16_t cport, uint32_t vaddr,
                     uint16_t vport, uint32_t dest, uint16_t svc, uint16_t dport, int64_t now, int may_evict);
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
 * threads can scale). The counters are written under the lock, so they are exact. */
static inline int64_t dd_lock_clock_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline void dd_table_lock(struct dd_table *t) {
  int64_t a;
  if (pthread_mutex_trylock(&t->lock) == 0) {
    t->counters[DD_C_LOCK_TAKEN]++;
    t->locked_at_ns = dd_lock_clock_ns();
    return;
  }
  a = dd_lock_clock_ns();
  pthread_mutex_lock(&t->lock);
  t->locked_at_ns = dd_lock_clock_ns();
  t->counters[DD_C_LOCK_TAKEN]++;
  t->counters[DD_C_LOCK_CONTENDED]++;
  t->counters[DD_C_LOCK_WAIT_NS] += (uint64_t)(t->locked_at_ns - a);
}

static inline void dd_table_unlock(struct dd_table *t) {
  t->counters[DD_C_LOCK_HOLD_NS] += (uint64_t)(dd_lock_clock_ns() - t->locked_at_ns);
  pthread_mutex_unlock(&t->lock);
}

#endif
