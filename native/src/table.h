/* The data-plane table's types: packet summaries, services, dests, connections and the table that holds them, with
 * their sizes and flags (no functions: core.h declares what works on them). abi.h has what crosses to TypeScript. */
#ifndef DIRECTORD_TABLE_H
#define DIRECTORD_TABLE_H
#include <pthread.h>
#include <stdint.h>
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
  uint8_t close_conns;          /* its connections end at their next client packet (dd_process, dd_tcp_reset) */
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
#define DD_CF_LEARNT 0x10       /* made from a peer's record and not sent from here since (see dd_apply_sync) */

struct dd_conn {
  uint32_t caddr, vaddr, daddr, fwmark;
  uint16_t cport, vport, dport;
  uint8_t proto, state, flags, pad;
  uint16_t dest, svc;
  uint32_t timeout_ms;
  uint32_t synced_ms;           /* clock ms (mod 2^32) of its last sync record (fills the hole before `expires`) */
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

#endif
