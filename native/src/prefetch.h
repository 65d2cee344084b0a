/* A packet loop's prefetch pass over a batch of ready frames (as VPP and Katran do): the connection key and its hash
 * of each frame, and a prefetch of the bucket it will look up, so that the batch's cache misses overlap instead of
 * being paid one after the other under the table lock. dd_forward_frame_hinted then reuses the hash. */
#ifndef DIRECTORD_PREFETCH_H
#define DIRECTORD_PREFETCH_H
#include "core.h"

/* What the pass found in one frame: the key of a plain IPv4 TCP/UDP frame and its dd_conn_hash (ok = 0: anything
 * else, which the loop decides as before). dd_forward_frame_hinted uses the hash only when the full parse found
 * the very same key, so a frame the short parse below reads differently costs a second hash, never a wrong one. */
struct dd_hint {
  uint32_t hash, saddr, daddr;
  uint16_t sport, dport;
  uint8_t proto, ok;
};

/* Reads no more than `caplen` bytes. Without the table lock: the hash key (fixed once the table holds entries:
 * dd_set_hash_key refuses otherwise), the mask and the bucket array never change under a running loop. */
static inline void dd_hint_frame(const struct dd_table *t, const uint8_t *f, uint32_t caplen, int32_t meta,
                                 struct dd_hint *h) {
  uint32_t l2 = 14, ihl;
  const uint8_t *ip, *l4;
  h->ok = 0;
  if (caplen < 14 + 20 + 4) return;
  if (f[12] == 0x81 && f[13] == 0x00) {   /* one inline 802.1Q tag (AF_XDP, or a tag inside a stripped one) */
    if (meta >= 0) return;
    l2 = 18;
  }
  if (f[l2 - 2] != 0x08 || f[l2 - 1] != 0x00 || caplen < l2 + 20) return;
  ip = f + l2;
  ihl = (uint32_t)(ip[0] & 15) * 4;
  if ((ip[0] >> 4) != 4 || ihl < 20 || (ip[9] != 6 && ip[9] != 17) || ((ip[6] & 0x1f) | ip[7])) return;
  if (caplen < l2 + ihl + 4) return;
  l4 = ip + ihl;
  h->proto = ip[9];
  h->saddr = (uint32_t)ip[12] << 24 | (uint32_t)ip[13] << 16 | (uint32_t)ip[14] << 8 | ip[15];
  h->daddr = (uint32_t)ip[16] << 24 | (uint32_t)ip[17] << 16 | (uint32_t)ip[18] << 8 | ip[19];
  h->sport = (uint16_t)(l4[0] << 8 | l4[1]);
  h->dport = (uint16_t)(l4[2] << 8 | l4[3]);
  h->hash = dd_conn_hash(t, 0, h->proto, h->saddr, h->sport, h->daddr, h->dport);
  h->ok = 1;
  __builtin_prefetch(&t->buckets[h->hash & t->mask], 0, 3);
}

/* Second stage, once every bucket of the batch is on its way: the first entry of each chain. The bucket word is
 * read without the lock (a relaxed load: another thread may be changing it), only to choose what to prefetch. */
static inline void dd_hint_entries(const struct dd_table *t, const struct dd_hint *h, uint32_t n) {
  for (uint32_t k = 0; k < n; k++) {
    if (!h[k].ok) continue;
    uint32_t i = __atomic_load_n(&t->buckets[h[k].hash & t->mask], __ATOMIC_RELAXED);
    if (i < t->size) __builtin_prefetch(&t->conns[i], 0, 3);
  }
}

/* The hash of the hint when the parsed packet is the flow it describes (NULL: dd_process computes it). */
static inline const uint32_t *dd_hint_hash(const struct dd_hint *h, const struct dd_pkt *p) {
  if (!h || !h->ok || (p->pflags & (DD_PF_ICMP | DD_PF_FRAG_LATER)) || h->saddr != p->saddr || h->daddr != p->daddr ||
      h->sport != p->sport || h->dport != p->dport || h->proto != p->proto)
    return NULL;
  return &h->hash;
}

#endif
