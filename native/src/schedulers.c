/* IPVS schedulers over one service's dest list (wlc lc rr wrr sh mh fo), written from the kernel's algorithms
 * (ip_vs_{wlc,lc,rr,wrr,sh,mh,fo}.c) so that list order, ties and weight 0 behave exactly as there. */
#include <stdlib.h>
#include <string.h>
#include "core.h"
#include "schedulers.h"

static inline int64_t overhead(const struct dd_dest *d) { return ((int64_t)d->active << 8) + d->inact; }

/* IP_VS_DEST_F_OVERLOAD stand-in: a dest the data plane cannot reach (no MAC) is skipped like an overloaded one.
 * Piranha never sets thresholds, so there is no other overload. */
static inline int overloaded(const struct dd_dest *d) { return !d->has_mac; }

static uint32_t wlc(struct dd_table *t, struct dd_service *s) {
  int i, least = -1;
  int64_t loh = 0;
  for (i = 0; i < s->ndests; i++) {
    struct dd_dest *d = &t->dests[s->dests[i]];
    if (!overloaded(d) && d->weight > 0) { least = i; loh = overhead(d); break; }
  }
  if (least < 0) return DD_NIL;
  for (i = least + 1; i < s->ndests; i++) {
    struct dd_dest *d = &t->dests[s->dests[i]];
    int64_t doh = overhead(d);
    if (overloaded(d)) continue;
    if (loh * d->weight > doh * t->dests[s->dests[least]].weight) { least = i; loh = doh; }
  }
  return s->dests[least];
}

static uint32_t lc(struct dd_table *t, struct dd_service *s) {
  int i, least = -1;
  int64_t loh = 0;
  for (i = 0; i < s->ndests; i++) {
    struct dd_dest *d = &t->dests[s->dests[i]];
    if (overloaded(d) || d->weight == 0) continue;
    if (least < 0 || overhead(d) < loh) { least = i; loh = overhead(d); }
  }
  return least < 0 ? DD_NIL : s->dests[least];
}

/* ip_vs_fo.c: the highest weight among non-overloaded dests; strict > keeps ties on the earlier entry and
 * never picks weight 0. */
static uint32_t fo(struct dd_table *t, struct dd_service *s) {
  int i, best = -1, hw = 0;
  for (i = 0; i < s->ndests; i++) {
    const struct dd_dest *d = &t->dests[s->dests[i]];
    if (!overloaded(d) && d->weight > hw) { best = i; hw = d->weight; }
  }
  return best < 0 ? DD_NIL : s->dests[best];
}

/* The cursor is a list position; -1 is the list head, so a scan starts at entry 0. */
static uint32_t rr(struct dd_table *t, struct dd_service *s) {
  int n = s->ndests, k;
  for (k = 1; k <= n; k++) {
    int i = (s->rr_pos + k) % n;
    if (s->rr_pos < 0) i = k - 1;
    if (!overloaded(&t->dests[s->dests[i]]) && t->dests[s->dests[i]].weight > 0) { s->rr_pos = i; return s->dests[i]; }
  }
  return DD_NIL;
}

static int gcd(int a, int b) { while (b) { int c = a % b; a = b; b = c; } return a; }

/* ip_vs_wrr_dest_changed for one list state, given by its n weights: cursor to the head, cw clamped or realigned. */
static void wrr_changed(struct dd_service *s, const int32_t *w, int n) {
  int i, g = 0, mw = 0;
  for (i = 0; i < n; i++) {
    if (w[i] > 0) g = g > 0 ? gcd(w[i], g) : w[i];
    if (w[i] > mw) mw = w[i];
  }
  s->wrr_di = g ? g : 1;
  s->wrr_pos = -1;
  s->wrr_mw = mw - (s->wrr_di - 1);
  if (s->wrr_cw > s->wrr_mw || !s->wrr_cw) s->wrr_cw = s->wrr_mw;
  else if (s->wrr_di > 1) s->wrr_cw = (s->wrr_cw / s->wrr_di) * s->wrr_di + 1;
}

void dd_wrr_dest_changed(struct dd_table *t, struct dd_service *s) {
  int32_t w[DD_MAX_DESTS_PER_SERVICE];
  int i;
  for (i = 0; i < s->ndests; i++) w[i] = t->dests[s->dests[i]].weight;
  wrr_changed(s, w, s->ndests);
}

static int index_of(const uint16_t *ids, int n, uint16_t id) {
  int i;
  for (i = 0; i < n; i++) if (ids[i] == id) return i;
  return -1;
}

/* One dest_changed per ipvsadm call the diff stands for, as the model's wrrCallSequence: deletions (old list
 * order), weight edits (new list order), additions from the new list's tail (each -a inserts at the head); then
 * the final list, a no-op after them. old/oldw/oldn: the list and its weights before the diff. */
void dd_wrr_dests_changed(struct dd_table *t, struct dd_service *s, const uint16_t *old, const int32_t *oldw, int oldn) {
  uint16_t id[DD_MAX_DESTS_PER_SERVICE];
  int32_t w[DD_MAX_DESTS_PER_SERVICE];
  int n = 0, i, j;
  for (i = 0; i < oldn; i++) { id[n] = old[i]; w[n++] = oldw[i]; }
  for (i = 0; i < oldn; i++) {
    if (index_of(s->dests, s->ndests, old[i]) >= 0) continue;
    j = index_of(id, n, old[i]);
    n--;
    memmove(&id[j], &id[j + 1], sizeof(id[0]) * (size_t)(n - j));
    memmove(&w[j], &w[j + 1], sizeof(w[0]) * (size_t)(n - j));
    wrr_changed(s, w, n);
  }
  for (i = 0; i < s->ndests; i++) {
    j = index_of(id, n, s->dests[i]);
    if (j < 0 || w[j] == t->dests[s->dests[i]].weight) continue;
    w[j] = t->dests[s->dests[i]].weight;
    wrr_changed(s, w, n);
  }
  for (i = s->ndests - 1; i >= 0; i--) {
    if (index_of(id, n, s->dests[i]) >= 0) continue;
    id[n] = s->dests[i];
    w[n++] = t->dests[s->dests[i]].weight;
    wrr_changed(s, w, n);
  }
  dd_wrr_dest_changed(t, s);
}

/* ip_vs_wrr_schedule: positions stand in for list entries, -1 for the head. */
static uint32_t wrr(struct dd_table *t, struct dd_service *s) {
  int last, stop = -2, last_pass = 0, restarted = 0, i;
  if (s->wrr_mw == 0) return DD_NIL;
  last = s->wrr_pos;
  i = s->wrr_pos;
  for (;;) {
    for (i = i + 1; i < s->ndests; i++) {
      const struct dd_dest *d = &t->dests[s->dests[i]];
      if (!overloaded(d) && d->weight >= s->wrr_cw) { s->wrr_pos = i; return s->dests[i]; }
      if (i == stop) { s->wrr_pos = i; return DD_NIL; }
    }
    i = -1;
    s->wrr_cw -= s->wrr_di;
    if (s->wrr_cw <= 0) {
      s->wrr_cw = s->wrr_mw;
      if (last_pass || last == -1) { s->wrr_pos = -1; return DD_NIL; }
      restarted = 1;
    }
    last_pass = s->wrr_cw <= s->wrr_di;
    if (last_pass && restarted && last != -1) stop = last;
  }
}

uint32_t dd_sh_hash(uint32_t saddr) { return (uint32_t)(saddr * 0x61C88647u) >> 24; }

void dd_sh_rebuild(struct dd_table *t, struct dd_service *s) {
  int i, p = 0, count = 0;
  for (i = 0; i < 256; i++) {
    if (s->ndests == 0) { s->sh[i] = DD_NO_DEST; continue; }
    s->sh[i] = s->dests[p];
    if (++count >= t->dests[s->dests[p]].weight) { p = (p + 1) % s->ndests; count = 0; }
  }
}

static uint32_t sh(struct dd_table *t, struct dd_service *s, uint32_t saddr) {
  uint16_t slot = s->sh[dd_sh_hash(saddr)];
  if (slot == DD_NO_DEST || t->dests[slot].weight <= 0 || overloaded(&t->dests[slot])) return DD_NIL;
  return slot;
}

/* Maglev hashing as ip_vs_mh.c: hsiphash (SipHash-1-3, 32-bit result) with the kernel's fixed keys, per-dest
 * (offset, skip) permutations of a 4093-slot table, last_weight/gcd turns (right-shifted for large weights). */
#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND do { \
    v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
    v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2; \
    v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0; \
    v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); } while (0)

static uint32_t hsiphash_u32(uint32_t value, uint64_t k) {
  uint64_t v0 = 0x736f6d6570736575ULL ^ k, v1 = 0x646f72616e646f6dULL ^ k;
  uint64_t v2 = 0x6c7967656e657261ULL ^ k, v3 = 0x7465646279746573ULL ^ k;
  uint64_t b = ((uint64_t)4 << 56) | value;     /* 4 bytes, little-endian */
  v3 ^= b; SIPROUND; v0 ^= b;
  v2 ^= 0xff; SIPROUND; SIPROUND; SIPROUND;
  return (uint32_t)(v0 ^ v1 ^ v2 ^ v3);
}

#define MH_KEY1 2654435761ULL
#define MH_KEY2 2654446892ULL
#define MH_TAB_BITS 6

static uint32_t mh_key(uint32_t addr, uint32_t port, uint64_t key) { return hsiphash_u32(port + addr, key); }

static int fls32(uint32_t x) { return x ? 32 - __builtin_clz(x) : 0; }

void dd_mh_rebuild(struct dd_table *t, struct dd_service *s) {
  uint32_t perm[DD_MAX_DESTS_PER_SERVICE], skip[DD_MAX_DESTS_PER_SERVICE];
  int turns[DD_MAX_DESTS_PER_SERVICE];
  uint8_t taken[DD_MH_SIZE];
  int i, g = 0, mw = 0, rshift, filled = 0, dt = 0, n = s->ndests;
  if (!s->mh) s->mh = malloc(sizeof(uint16_t) * DD_MH_SIZE);
  if (!s->mh) return;
  for (i = 0; i < DD_MH_SIZE; i++) s->mh[i] = DD_NO_DEST;
  for (i = 0; i < n; i++) {
    int w = t->dests[s->dests[i]].last_weight;
    if (w > 0) g = g > 0 ? gcd(w, g) : w;
    if (w > mw) mw = w;
  }
  if (g < 1) return;
  rshift = fls32((uint32_t)(mw / g)) - MH_TAB_BITS;
  if (rshift < 0) rshift = 0;
  for (i = 0; i < n; i++) {
    struct dd_dest *d = &t->dests[s->dests[i]];
    perm[i] = mh_key(d->addr, d->port, MH_KEY1) % DD_MH_SIZE;
    skip[i] = mh_key(d->addr, d->port, MH_KEY2) % (DD_MH_SIZE - 1) + 1;
    turns[i] = (d->last_weight / g) >> rshift;
    if (!turns[i] && d->last_weight != 0) turns[i] = 1;
  }
  memset(taken, 0, sizeof(taken));
  for (;;) {
    for (i = 0; i < n;) {
      uint32_t c;
      if (turns[i] < 1) { i++; continue; }
      c = perm[i];
      while (taken[c]) {
        perm[i] += skip[i];
        if (perm[i] >= DD_MH_SIZE) perm[i] -= DD_MH_SIZE;
        c = perm[i];
      }
      taken[c] = 1;
      s->mh[c] = s->dests[i];
      if (++filled == DD_MH_SIZE) return;
      if (++dt >= turns[i]) { dt = 0; i++; }
    }
  }
}

static uint32_t mh(struct dd_table *t, struct dd_service *s, uint32_t saddr) {
  uint16_t slot;
  if (!s->mh) return DD_NIL;
  slot = s->mh[mh_key(saddr, 0, MH_KEY1) % DD_MH_SIZE];
  if (slot == DD_NO_DEST || t->dests[slot].weight <= 0 || overloaded(&t->dests[slot])) return DD_NIL;
  return slot;
}

uint32_t dd_schedule(struct dd_table *t, struct dd_service *s, uint32_t saddr) {
  if (s->ndests == 0) return DD_NIL;
  switch (s->scheduler) {
    case DD_SCHED_WLC: return wlc(t, s);
    case DD_SCHED_LC: return lc(t, s);
    case DD_SCHED_RR: return rr(t, s);
    case DD_SCHED_WRR: return wrr(t, s);
    case DD_SCHED_SH: return sh(t, s, saddr);
    case DD_SCHED_MH: return mh(t, s, saddr);
    case DD_SCHED_FO: return fo(t, s);
    default: return DD_NIL;
  }
}
