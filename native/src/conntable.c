/* The connection table's memory and bookkeeping: a keyed hash (SipHash-1-3, secret per table), a millisecond
 * timer wheel whose expiry cost is proportional to the entries due, and the eviction list of embryonic entries
 * that lets a new connection in when a SYN flood has filled the table. Nothing here allocates per packet. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include "core.h"

static const uint32_t default_timeouts_s[DD_S_COUNT] = { 2, 900, 120, 60, 120, 120, 10, 60, 30, 120, 120, 300, 300 };

/* A per-boot secret: an attacker who knows the hash can no longer aim thousands of flows at one chain. */
static void random_key(uint64_t k[2]) {
  size_t got = 0;
  while (got < 16) {
    ssize_t r = getrandom((uint8_t *)k + got, 16 - got, 0);
    if (r <= 0) break;
    got += (size_t)r;
  }
  if (got < 16) {   /* no getrandom (very old kernel): urandom, else at least not a constant */
    FILE *f = fopen("/dev/urandom", "rb");
    if (!f || fread(k, 16, 1, f) != 1) {
      struct timespec ts;
      clock_gettime(CLOCK_MONOTONIC, &ts);
      k[0] ^= (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ULL ^ (uint64_t)(uintptr_t)k;
      k[1] ^= (uint64_t)ts.tv_sec * 0xbf58476d1ce4e5b9ULL ^ (uint64_t)(uintptr_t)&ts;
    }
    if (f) fclose(f);
  }
}

struct dd_table *dd_table_new(uint32_t size) {
  struct dd_table *t;
  uint32_t i;
  if (size < 16 || (size & (size - 1))) return NULL;
  t = calloc(1, sizeof(*t));
  if (!t) return NULL;
  t->conns = calloc(size, sizeof(struct dd_conn));
  t->buckets = malloc(sizeof(uint32_t) * size);
  t->sync = calloc(DD_SYNC_RING, sizeof(struct dd_conn_record));
  t->wheel = malloc(sizeof(uint32_t) * DD_WHEEL);
  t->wheel_tmpl = malloc(sizeof(uint32_t) * DD_WHEEL);
  t->wheel_bits = calloc(DD_WHEEL / 64, sizeof(uint64_t));
  if (!t->conns || !t->buckets || !t->sync || !t->wheel || !t->wheel_tmpl || !t->wheel_bits) { dd_table_free(t); return NULL; }
  pthread_mutex_init(&t->lock, NULL);
  t->size = size; t->mask = size - 1;
  for (i = 0; i < size; i++) { t->buckets[i] = DD_NIL; t->conns[i].hnext = i + 1 < size ? i + 1 : DD_NIL; }
  t->free_head = 0;
  for (i = 0; i < DD_WHEEL; i++) t->wheel[i] = t->wheel_tmpl[i] = DD_NIL;
  t->wheel_ms = INT64_MIN;      /* set by the first clock value seen */
  t->next_check = INT64_MAX;
  t->budget_ms = INT64_MIN;
  t->embryo_head = t->embryo_tail = DD_NIL;
  random_key(t->hkey);
  for (i = 0; i < DD_S_COUNT; i++) t->timeouts_ms[i] = default_timeouts_s[i] * 1000;
  for (i = 0; i < DD_MAX_SERVICES; i++) t->svcs[i].rr_pos = -1;
  t->forwarding = 1;
  return t;
}

void dd_table_free(struct dd_table *t) {
  int i;
  if (!t) return;
  for (i = 0; i < DD_MAX_SERVICES; i++) free(t->svcs[i].mh);
  free(t->conns); free(t->buckets); free(t->sync); free(t->wheel); free(t->wheel_tmpl); free(t->wheel_bits); free(t);
}

/* ---- keyed hash: SipHash-1-3 of the 13-byte key (caddr, vaddr, cport, vport, proto; little-endian) ---- */
#define ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND do { \
    v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
    v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2; \
    v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0; \
    v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); } while (0)

static inline uint32_t siphash13(const uint64_t k[2], uint64_t m, uint64_t tail) {
  uint64_t v0 = 0x736f6d6570736575ULL ^ k[0], v1 = 0x646f72616e646f6dULL ^ k[1];
  uint64_t v2 = 0x6c7967656e657261ULL ^ k[0], v3 = 0x7465646279746573ULL ^ k[1];
  v3 ^= m; SIPROUND; v0 ^= m;
  v3 ^= tail; SIPROUND; v0 ^= tail;
  v2 ^= 0xff; SIPROUND; SIPROUND; SIPROUND;
  return (uint32_t)(v0 ^ v1 ^ v2 ^ v3);
}

uint32_t dd_conn_hash(const struct dd_table *t, uint8_t tmpl, uint8_t proto, uint32_t caddr, uint16_t cport,
                      uint32_t vaddr, uint16_t vport) {
  uint64_t m = (uint64_t)caddr | ((uint64_t)vaddr << 32);
  uint64_t tail = (uint64_t)cport | ((uint64_t)vport << 16) | ((uint64_t)(proto | (tmpl ? 0x80 : 0)) << 32) |
                  (13ULL << 56);
  return siphash13(t->hkey, m, tail);
}

int dd_set_hash_key(struct dd_table *t, uint64_t k0, uint64_t k1) {
  if (t->used) return -1;
  t->hkey[0] = k0; t->hkey[1] = k1;
  return 0;
}

static uint32_t bucket_of(struct dd_table *t, const struct dd_conn *c) {
  return dd_conn_hash(t, c->flags & DD_CF_TEMPLATE, c->proto, c->caddr, c->cport, c->vaddr, c->vport) & t->mask;
}

static void hash_in_at(struct dd_table *t, uint32_t i, uint32_t b) {
  t->conns[i].hnext = t->buckets[b];
  t->buckets[b] = i;
}

void dd_hash_in(struct dd_table *t, uint32_t i) { hash_in_at(t, i, bucket_of(t, &t->conns[i])); }

void dd_hash_out(struct dd_table *t, uint32_t i) {
  uint32_t *pp = &t->buckets[bucket_of(t, &t->conns[i])];
  while (*pp != DD_NIL && *pp != i) pp = &t->conns[*pp].hnext;
  if (*pp == i) *pp = t->conns[i].hnext;
}

static uint32_t find(struct dd_table *t, uint32_t hash, uint8_t tmpl, uint8_t proto, uint32_t caddr, uint16_t cport,
                     uint32_t vaddr, uint16_t vport) {
  uint32_t i = t->buckets[hash & t->mask];
  for (; i != DD_NIL; i = t->conns[i].hnext) {
    const struct dd_conn *c = &t->conns[i];
    if (c->caddr == caddr && c->vaddr == vaddr && c->cport == cport && c->vport == vport && c->proto == proto &&
        (c->flags & DD_CF_TEMPLATE) == (tmpl ? DD_CF_TEMPLATE : 0))
      return i;
  }
  return DD_NIL;
}

/* ---- timer wheel ----
 * Two lists per millisecond slot (templates, connections), doubly linked through the entries: O(1) link/unlink.
 * An entry sits in the slot of a time at or before its expiry: re-arming later (every packet) only stores the new
 * expiry, and the entry moves when its slot comes up. A slot's templates fire before its connections, so a
 * template due in the same millisecond as the connections it controls fires first, as in creation order. */
static void bit_set(struct dd_table *t, uint32_t s) { t->wheel_bits[s >> 6] |= 1ULL << (s & 63); }

static uint32_t *list_of(struct dd_table *t, const struct dd_conn *c, uint32_t s) {
  return (c->flags & DD_CF_TEMPLATE) ? &t->wheel_tmpl[s] : &t->wheel[s];
}

static int64_t slot_time(const struct dd_table *t, uint32_t s) {
  return t->wheel_ms + (int64_t)((s - (uint32_t)t->wheel_ms) & (DD_WHEEL - 1));
}

static void wheel_unlink(struct dd_table *t, uint32_t i) {
  struct dd_conn *c = &t->conns[i];
  uint32_t s = c->wslot;
  if (s == DD_NIL) return;
  if (c->wprev != DD_NIL) t->conns[c->wprev].wnext = c->wnext;
  else *list_of(t, c, s) = c->wnext;
  if (c->wnext != DD_NIL) t->conns[c->wnext].wprev = c->wprev;
  if (t->wheel[s] == DD_NIL && t->wheel_tmpl[s] == DD_NIL) t->wheel_bits[s >> 6] &= ~(1ULL << (s & 63));
  c->wslot = DD_NIL;
}

/* Link at `when`, kept within the wheel's window (an entry further out waits in the last slot and moves on). */
static void wheel_link(struct dd_table *t, uint32_t i, int64_t when) {
  struct dd_conn *c = &t->conns[i];
  uint32_t s, *head;
  if (t->wheel_ms == INT64_MIN) t->wheel_ms = when;
  if (when < t->wheel_ms) when = t->wheel_ms;
  if (when > t->wheel_ms + DD_WHEEL - 1) when = t->wheel_ms + DD_WHEEL - 1;
  s = (uint32_t)when & (DD_WHEEL - 1);
  head = list_of(t, c, s);
  c->wslot = s; c->wprev = DD_NIL; c->wnext = *head;
  if (*head != DD_NIL) t->conns[*head].wprev = i;
  *head = i;
  bit_set(t, s);
  if (when < t->next_check) t->next_check = when;
}

/* ip_vs_conn_put: the timer restarts at now + timeout. Later than the slot it sits in: nothing moves. */
static void arm(struct dd_table *t, uint32_t i, int64_t now) {
  struct dd_conn *c = &t->conns[i];
  c->expires = now + c->timeout_ms;
  if (c->wslot != DD_NIL && c->expires >= slot_time(t, c->wslot)) return;
  wheel_unlink(t, i);
  wheel_link(t, i, c->expires);
}

void dd_conn_rearm(struct dd_table *t, uint32_t i, int64_t now) { arm(t, i, now); }

/* ---- eviction list: TCP connections that never reached ESTABLISHED, oldest first ---- */
static void embryo_unlink(struct dd_table *t, uint32_t i) {
  struct dd_conn *c = &t->conns[i];
  if (!(c->flags & DD_CF_EMBRYO)) return;
  if (c->eprev != DD_NIL) t->conns[c->eprev].enext = c->enext; else t->embryo_head = c->enext;
  if (c->enext != DD_NIL) t->conns[c->enext].eprev = c->eprev; else t->embryo_tail = c->eprev;
  c->flags &= ~DD_CF_EMBRYO;
}

static void embryo_append(struct dd_table *t, uint32_t i) {
  struct dd_conn *c = &t->conns[i];
  c->flags |= DD_CF_EMBRYO;
  c->enext = DD_NIL; c->eprev = t->embryo_tail;
  if (t->embryo_tail != DD_NIL) t->conns[t->embryo_tail].enext = i; else t->embryo_head = i;
  t->embryo_tail = i;
}

/* Reached ESTABLISHED: never evicted from now on. */
void dd_conn_established(struct dd_table *t, uint32_t i) { embryo_unlink(t, i); }

/* ---- create / destroy ---- */
uint32_t dd_conn_new(struct dd_table *t, uint8_t tmpl, uint8_t proto, uint32_t caddr, uint16_t cport, uint32_t vaddr,
                     uint16_t vport, uint32_t dest, uint16_t svc, uint16_t dport, int64_t now, int may_evict,
                     const uint32_t *hash) {
  uint32_t i;
  struct dd_conn *c;
  struct dd_dest *d = &t->dests[dest];
  /* Full: a new connection takes the slot of the oldest entry that never got past the handshake (a SYN flood's). */
  if (t->free_head == DD_NIL && may_evict && t->embryo_head != DD_NIL) {
    dd_conn_free(t, t->embryo_head);
    t->counters[DD_C_EVICTIONS]++;
  }
  i = t->free_head;
  if (i == DD_NIL) return DD_NIL;
  t->free_head = t->conns[i].hnext;
  c = &t->conns[i];
  memset(c, 0, sizeof(*c));
  c->flags = DD_CF_USED | (tmpl ? DD_CF_TEMPLATE : DD_CF_INACTIVE);
  c->proto = proto; c->caddr = caddr; c->cport = cport; c->vaddr = vaddr; c->vport = vport;
  c->daddr = d->addr; c->dport = dport; c->dest = (uint16_t)dest; c->svc = svc;
  c->fwmark = t->svcs[svc].fwmark;
  c->state = proto == 17 && !tmpl ? DD_S_UDP : DD_S_NONE;
  c->timeout_ms = 3000;                   /* ip_vs_conn_new's provisional 3 s, replaced by the first transition */
  c->control = DD_NIL;
  c->wslot = DD_NIL;
  d->refcnt++;
  if (tmpl) d->persist++;
  else d->inact++;
  if (hash) hash_in_at(t, i, *hash & t->mask);
  else dd_hash_in(t, i);
  /* A connection is armed by its caller right after its first transition (one wheel link per SYN, not two); a
   * template keeps the provisional timer unless its first connection is made. */
  if (tmpl) arm(t, i, now);
  else c->expires = now + c->timeout_ms;
  if (proto == 6 && !tmpl) embryo_append(t, i);
  t->used++;
  return i;
}

void dd_conn_free(struct dd_table *t, uint32_t i) {
  struct dd_conn *c = &t->conns[i];
  struct dd_dest *d = &t->dests[c->dest];
  dd_hash_out(t, i);
  wheel_unlink(t, i);
  embryo_unlink(t, i);
  if (c->control != DD_NIL) t->conns[c->control].n_control--;
  if (c->flags & DD_CF_TEMPLATE) d->persist--;
  else if (c->flags & DD_CF_INACTIVE) d->inact--;
  else d->active--;
  if (--d->refcnt == 0 && !d->available) d->in_use = 0;   /* leaves the trash */
  c->flags = 0;
  c->hnext = t->free_head;
  t->free_head = i;
  t->used--;
}

/* ip_vs_conn_expire: a template that still controls connections lives on, 60 s at a time, re-armed from when its
 * timer was due (so a long jump of the clock replays the expiries in time order). */
void dd_conn_expire(struct dd_table *t, uint32_t i, int64_t now) {
  struct dd_conn *c = &t->conns[i];
  if (c->n_control) { c->timeout_ms = 60000; arm(t, i, c->expires < now ? c->expires : now); return; }
  dd_conn_free(t, i);
}

/* Next non-empty slot at or after wheel_ms, as a time; INT64_MAX when the wheel is empty. */
static int64_t next_slot(const struct dd_table *t) {
  uint32_t s = (uint32_t)t->wheel_ms & (DD_WHEEL - 1), w = s >> 6, n;
  uint64_t bits = t->wheel_bits[w] & (~0ULL << (s & 63));
  for (n = 0; n <= DD_WHEEL / 64; n++) {
    if (bits) return slot_time(t, (w << 6) | (uint32_t)__builtin_ctzll(bits));
    w = (w + 1) & (DD_WHEEL / 64 - 1);
    bits = t->wheel_bits[w];
    if (n == DD_WHEEL / 64 - 1) bits &= (1ULL << (s & 63)) - 1;   /* back at the start word: only below s */
  }
  return INT64_MAX;
}

/* Fires every entry due by `now`, slot by slot in time order; an entry met in a slot before its expiry moves to
 * the slot of its expiry. At most `budget` entries per millisecond of the clock: the rest waits for later calls
 * (and dd_lookup expires an overdue entry itself), so a burst of expiries never blocks the packet loop. */
void dd_expire(struct dd_table *t, int64_t now, uint32_t budget) {
  if (t->wheel_ms == INT64_MIN || now < t->next_check) {
    if (t->wheel_ms == INT64_MIN || now >= t->wheel_ms) t->wheel_ms = now + 1;   /* nothing linked before next_check */
    return;
  }
  if (budget != DD_EXPIRE_ALL) {
    if (t->budget_ms != now) { t->budget_ms = now; t->budget_left = budget; }
    if (!t->budget_left) return;
  }
  for (;;) {
    int64_t m = next_slot(t);
    uint32_t s;
    if (m > now) { if (now + 1 > t->wheel_ms) t->wheel_ms = now + 1; t->next_check = m; return; }
    t->wheel_ms = m;
    s = (uint32_t)m & (DD_WHEEL - 1);
    for (;;) {
      uint32_t i = t->wheel_tmpl[s] != DD_NIL ? t->wheel_tmpl[s] : t->wheel[s];
      if (i == DD_NIL) break;
      if (budget != DD_EXPIRE_ALL && !t->budget_left--) { t->budget_left = 0; t->next_check = m; return; }
      wheel_unlink(t, i);
      if (t->conns[i].expires <= m) dd_conn_expire(t, i, m);
      else wheel_link(t, i, t->conns[i].expires);
    }
  }
}

uint32_t dd_lookup_hashed(struct dd_table *t, uint32_t hash, uint8_t tmpl, uint8_t proto, uint32_t caddr, uint16_t cport,
                          uint32_t vaddr, uint16_t vport, int64_t now) {
  uint32_t i = find(t, hash, tmpl, proto, caddr, cport, vaddr, vport);
  while (i != DD_NIL && t->conns[i].expires <= now) {
    dd_conn_expire(t, i, now);
    if (!(t->conns[i].flags & DD_CF_USED)) return DD_NIL;
  }
  return i;
}

uint32_t dd_lookup(struct dd_table *t, uint8_t tmpl, uint8_t proto, uint32_t caddr, uint16_t cport, uint32_t vaddr,
                   uint16_t vport, int64_t now) {
  return dd_lookup_hashed(t, dd_conn_hash(t, tmpl, proto, caddr, cport, vaddr, vport), tmpl, proto, caddr, cport, vaddr,
                          vport, now);
}
