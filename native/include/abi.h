/* The one contract between src/dataplane/native.ts and the C data plane; bump DD_ABI_VERSION on any change.
 * Records cross the boundary as packed Buffers; the addon exports every size and offset below (offsetof), so
 * TypeScript never hard-codes a layout. Addresses are IPv4 in host byte order, times in milliseconds. */
#ifndef DIRECTORD_ABI_H
#define DIRECTORD_ABI_H
#include <stdint.h>

#define DD_ABI_VERSION 13
/* Upper bound of a packet loop's busy-poll budget (loopStart / xdpStart), in microseconds. */
#define DD_MAX_SPIN_US 10000
/* Upper bound of the AF_PACKET backend's packet threads (loopStart): one PACKET_FANOUT socket and ring each. */
#define DD_MAX_PACKET_THREADS 64

#define DD_MAX_SERVICES 256
#define DD_MAX_DESTS_PER_SERVICE 256
#define DD_MAX_DESTS 4096          /* dest slots incl. the "trash" of removed dests still referenced by connections */
/* 802.1Q: the VLAN id the data plane serves (setVlan; lvs.cf device eth0.100), 0 for untagged frames. */
#define DD_VLAN_MAX 4094
#define DD_SYNC_RING 65536         /* sync records buffered between two drains; overflow is counted */

enum dd_scheduler { DD_SCHED_WLC = 0, DD_SCHED_LC, DD_SCHED_RR, DD_SCHED_WRR, DD_SCHED_SH, DD_SCHED_MH, DD_SCHED_FO, DD_SCHED_COUNT };

/* TCP states, in the kernel's order (IP_VS_TCP_S_*); UDP connections use DD_STATE_UDP. */
enum dd_state {
  DD_S_NONE = 0, DD_S_ESTABLISHED, DD_S_SYN_SENT, DD_S_SYN_RECV, DD_S_FIN_WAIT, DD_S_TIME_WAIT, DD_S_CLOSE,
  DD_S_CLOSE_WAIT, DD_S_LAST_ACK, DD_S_LISTEN, DD_S_SYNACK, DD_S_UDP,
  DD_S_ASSURED,        /* templates only: a connection they control reached ESTABLISHED */
  DD_S_COUNT
};

/* What happened to one frame. DD_V_FORWARD is the only verdict that sends it on. */
enum dd_verdict {
  DD_V_FORWARD = 0,
  DD_V_TRUNCATED,      /* shorter than its headers claim */
  DD_V_NOT_IPV4,       /* ethertype is not IPv4 (ARP etc. are the kernel's) */
  DD_V_VLAN,           /* 802.1Q tag of another VLAN than ours, a missing tag, or 802.1ad/QinQ */
  DD_V_BAD_IHL,        /* IHL < 5 or version != 4 or total length < header */
  DD_V_FRAGMENT,       /* non-first IP fragment whose first fragment was not seen (or has aged out) */
  DD_V_NO_SERVICE,     /* no virtual service for proto/VIP/port (incl. non-TCP to a TCP service) */
  DD_V_NO_CONN,        /* TCP without SYN and no connection entry (IPVS lets the local stack have it) */
  DD_V_NO_DEST,        /* scheduler found no available dest: ICMP port unreachable (rate-limited) + drop */
  DD_V_DEST_UNAVAILABLE, /* connection's dest was removed (expire_nodest_conn semantics) */
  DD_V_NO_MAC,         /* dest chosen but its Ethernet address is unknown */
  DD_V_NOT_ACTIVE,     /* forwarding disabled (standby director) */
  DD_V_TABLE_FULL,     /* connection table out of slots */
  DD_V_TX_ERROR,       /* the send failed */
  DD_V_ICMP_NO_CONN,   /* ICMP error about a VIP flow with no connection entry or persistence template */
  DD_V_DEST_CLOSED,    /* TCP segment of a connection whose dest closes its connections (close_conns): the entry is
                          deleted and the client answered with a RST (DD_C_RESETS_SENT) */
  DD_V_COUNT
};

/* Input: one virtual service (setServices). dest_first indexes the dd_dest_spec array of the same call. */
struct dd_service_spec {
  uint32_t vip;
  uint32_t pmask;
  uint32_t fwmark;
  uint32_t persistent_ms;   /* 0 = not persistent */
  uint16_t port;
  uint8_t protocol;         /* 6 tcp, 17 udp */
  uint8_t scheduler;        /* enum dd_scheduler */
  uint8_t expire_quiescent_template;
  uint8_t expire_nodest_conn;
  uint16_t dest_count;
  uint32_t dest_first;
};

/* Input: one real server, in IPVS list order within its service (index 0 = list head). */
struct dd_dest_spec {
  uint32_t addr;
  int32_t weight;
  uint16_t port;
  uint8_t has_mac;
  uint8_t mac[6];
  uint8_t failed;           /* down by its health check: templates pointing here are invalid (lvs.cf
                               failed_server_keeps_templates = 0, the default) */
  uint8_t close_conns;      /* its established connections end (writer_demote = close): at the client's next packet
                               the entry is deleted, TCP answered with a RST from the VIP, UDP scheduled anew */
};

/* Output of stats(): one row per dest of every live service, in service then list order. */
struct dd_dest_stats {
  uint64_t conns, in_pkts, in_bytes;
  uint32_t svc_index;       /* index into the setServices array */
  uint32_t addr;
  int32_t weight;
  uint32_t active_conns, inact_conns, persist_conns;
  uint16_t port;
  uint16_t pad[3];
};

/* Output of connections() and drainSync(), input of applySync(). Templates: cport 0, caddr masked. */
struct dd_conn_record {
  int64_t expires_ms;       /* remaining lifetime (connections) or absolute timeout length (sync) */
  uint32_t caddr, vaddr, daddr;
  uint32_t fwmark;
  uint16_t cport, vport, dport;
  uint8_t protocol;         /* 6/17, 0 for a fwmark template */
  uint8_t state;            /* enum dd_state */
  uint8_t template_;
  uint8_t pad[7];
};

/* Global counters, as one uint64 array in this order, followed by DD_V_COUNT verdict counters.
 * DD_C_EVICTIONS: embryonic entries evicted for a new connection when the table was full.
 * DD_C_ICMP_RELAYED: ICMP errors about a VIP flow sent on to its real server (counted among the forwarded frames).
 * DD_C_ICMP_UNREACH_SENT / _LIMITED: port unreachables answered for DD_V_NO_DEST, and those the rate limit held back.
 * DD_C_FRAGMENTS: non-first fragments sent on to the real server of their first fragment.
 * DD_C_LOOP_MAX_US: longest a packet loop held (or waited for) the table lock for one batch, in µs, since the
 * previous read of the counters (a maximum, reset by tableCounters).
 * DD_C_LOCK_TAKEN / _CONTENDED / _WAIT_NS / _HOLD_NS: acquisitions of the table lock (dd_table_lock: packet batches
 * and control calls), those that found it held by another thread, the nanoseconds those waited, and the nanoseconds
 * the lock was held in all (the serial part of the packet path).
 * DD_C_RESETS_SENT: TCP RSTs the data plane wrote to clients for DD_V_DEST_CLOSED (none for a segment that is a RST). */
enum dd_global_counter { DD_C_RX_FRAMES = 0, DD_C_TX_FRAMES, DD_C_RX_BYTES, DD_C_CONNS, DD_C_SYNC_OVERFLOW,
  DD_C_RING_DROPS, DD_C_LOOP_WAKEUPS, DD_C_EVICTIONS, DD_C_LOOP_MAX_US, DD_C_ICMP_RELAYED, DD_C_ICMP_UNREACH_SENT,
  DD_C_ICMP_UNREACH_LIMITED, DD_C_FRAGMENTS, DD_C_LOCK_TAKEN, DD_C_LOCK_CONTENDED, DD_C_LOCK_WAIT_NS,
  DD_C_LOCK_HOLD_NS, DD_C_RESETS_SENT, DD_C_COUNT };

#endif
