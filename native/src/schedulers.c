/* IPVS schedulers over one service's dest list (wlc lc rr wrr sh mh), written from the kernel's algorithms
 * (ip_vs_{wlc,lc,rr,wrr,sh,mh}.c) so that list order, ties and weight 0 behave exactly as there. */
#include <stdlib.h>
#include <string.h>
#include "core.h"
#include "schedulers.h"

static inline int64_t overhead(const struct dd_dest *d) { return ((int64_t)d->active << 8) + d->inact; }

static uint32_t wlc(struct dd_table *t, struct dd_service *s) {
  int i, least = -1;
  int64_t loh = 0;
  for (i = 0; i < s->ndests; i++) {
    struct dd_dest *d = &t->dests[s->dests[i]];
    if (d->weight > 0) { least = i; loh = overhead(d); break; }
  }
  if (least < 0) return DD_NIL;
  for (i = least + 1; i < s->ndests; i++) {
    struct dd_dest *d = &t->dests[s->dests[i]];
    int64_t doh = overhead(d);
    if (loh * d->weight > doh * t->dests[s->dests[least]].weight) { least = i; loh = doh; }
  }
  return s->dests[least];
}

static uint32_t lc(struct dd_table *t, struct dd_service *s) {
  int i, least = -1;
  int64_t loh = 0;
  for (i = 0; i < s->ndests; i++) {
    struct dd_dest *d = &t->dests[s->dests[i]];
    if (d->weight == 0) continue;
    if (least < 0 || overhead(d) < loh) { least = i; loh = overhead(d); }
  }
  return least < 0 ? DD_NIL : s->dests[least];
}

/* The cursor is a list position; -1 is the list head, so a scan starts at entry 0. */
static uint32_t rr(struct dd_table *t, struct dd_service *s) {
  int n = s->ndests, k;
  for (k = 1; k <= n; k++) {
    int i = (s->rr_pos + k) % n;
    if (s->rr_pos < 0) i = k - 1;
    if (t->dests[s->dests[i]].weight > 0) { s->rr_pos = i; return s->dests[i]; }
  }
  return DD_NIL;
}

static int gcd(int a, int b) { while (b) { int c = a % b; a = b; b = c; } return a; }

void dd_wrr_dest_changed(struct dd_table *t, struct dd_service *s) {
  int i, g = 0, mw = 0;
  for (i = 0; i < s->ndests; i++) {
    int w = t->dests[s->dests[i]].weight;
    if (w > 0) g = g > 0 ? gcd(w, g) : w;
    if (w > mw) mw = w;
  }
  s->wrr_di = g ? g : 1;
  s->wrr_pos = -1;
  s->wrr_mw = mw - (s->wrr_di - 1);
  if (s->wrr_cw > s->wrr_mw || !s->wrr_cw) s->wrr_cw = s->wrr_mw;
  else if (s->wrr_di > 1) s->wrr_cw = (s->wrr_cw / s->wrr_di) * s->wrr_di + 1;
}

/* ip_vs_wrr_schedule: positions stand in for list entries, -1 for the head. */
static uint32_t wrr(struct dd_table *t, struct dd_service *s) {
  int last, stop = -2, last_pass = 0, restarted = 0, i;
  if (s->wrr_mw == 0) return DD_NIL;
  last = s->wrr_pos;
  i = s->wrr_pos;
  for (;;) {
    for (i = i + 1; i < s->ndests; i++) {
      if (t->dests[s->dests[i]].weight >= s->wrr_cw) { s->wrr_pos = i; return s->dests[i]; }
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
  if (slot == DD_NO_DEST || t->dests[slot].weight <= 0) return DD_NIL;
  return slot;
}

/* Maglev: each dest walks its own permutation (offset, skip) of the prime table, taking weight/gcd turns. */
static uint32_t mh_hash(uint32_t a, uint32_t b) {
  uint64_t x = ((uint64_t)a << 32) | b;
  x ^= x >> 33; x *= 0xff51afd7ed558ccdULL; x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53ULL; x ^= x >> 33;
  return (uint32_t)x;
}

void dd_mh_rebuild(struct dd_table *t, struct dd_service *s) {
  uint32_t off[DD_MAX_DESTS_PER_SERVICE], skip[DD_MAX_DESTS_PER_SERVICE], perm[DD_MAX_DESTS_PER_SERVICE];
  int turns[DD_MAX_DESTS_PER_SERVICE];
  int i, g = 0, filled = 0, n = s->ndests;
  if (!s->mh) s->mh = malloc(sizeof(uint16_t) * DD_MH_SIZE);
  if (!s->mh) return;
  for (i = 0; i < DD_MH_SIZE; i++) s->mh[i] = DD_NO_DEST;
  for (i = 0; i < n; i++) { int w = t->dests[s->dests[i]].weight; if (w > 0) g = g ? gcd(w, g) : w; }
  if (!g) return;
  for (i = 0; i < n; i++) {
    struct dd_dest *d = &t->dests[s->dests[i]];
    uint32_t h1 = mh_hash(d->addr, d->port), h2 = mh_hash(d->port, d->addr ^ 0x9e3779b9u);
    off[i] = h1 % DD_MH_SIZE;
    skip[i] = h2 % (DD_MH_SIZE - 1) + 1;
    perm[i] = 0;
    turns[i] = d->weight > 0 ? d->weight / g : 0;
  }
  while (filled < DD_MH_SIZE) {
    for (i = 0; i < n && filled < DD_MH_SIZE; i++) {
      int k;
      for (k = 0; k < turns[i] && filled < DD_MH_SIZE; k++) {
        uint32_t c;
        do { c = (off[i] + (uint64_t)perm[i] * skip[i]) % DD_MH_SIZE; perm[i]++; } while (s->mh[c] != DD_NO_DEST);
        s->mh[c] = s->dests[i];
        filled++;
      }
    }
  }
}

static uint32_t mh(struct dd_table *t, struct dd_service *s, uint32_t saddr) {
  uint16_t slot;
  if (!s->mh) return DD_NIL;
  slot = s->mh[mh_hash(saddr, 0) % DD_MH_SIZE];
  if (slot == DD_NO_DEST || t->dests[slot].weight <= 0) return DD_NIL;
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
    default: return DD_NIL;
  }
}
