/* N-API surface of directord_bench.node, never shipped nor loaded by the daemon: the benchmarks timed inside C
 * (bench/), and the connection hash of a directord_native.node table with a way to fix its key
 * (test/dataplane/conntable.test.ts shows that collisions do not carry across keys). Built from the same sources. */
#define NAPI_VERSION 8
#include <node_api.h>
#include <string.h>
#include <time.h>
#include "abi.h"
#include <stdlib.h>
#include "core.h"
#include "forward.h"
#include "napi_util.h"
#include "handle.h"

static void set_num(napi_env env, napi_value obj, const char *k, double v) { napi_set_named_property(env, obj, k, num(env, v)); }

static struct dd_table *table_of(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || !p) {
    napi_throw_error(env, "E_DATAPLANE_NATIVE", "not a table handle");
    return NULL;
  }
  return ((struct handle *)p)->t;
}

/* Benchmark entry (bench/dataplane.ts): fill a table of `size` slots with `conns` UDP connections, then time
 * `lookups` packets of existing connections inside C (no N-API call per packet). Returns ns per operation. */
static napi_value dd_bench_lookup(napi_env env, napi_callback_info info) {
  ARGS(3);
  uint32_t size, conns, lookups, i;
  struct dd_table *t;
  struct dd_service_spec sp;
  struct dd_dest_spec dp[2];
  struct dd_pkt p;
  struct dd_decision dc;
  struct timespec a, b, c;
  napi_value r;
  volatile uint32_t sink = 0;
  CHECK(napi_get_value_uint32(env, argv[0], &size));
  CHECK(napi_get_value_uint32(env, argv[1], &conns));
  CHECK(napi_get_value_uint32(env, argv[2], &lookups));
  t = dd_table_new(size);
  if (!t || conns > size || !conns) { dd_table_free(t); napi_throw_error(env, "E_DATAPLANE_TABLE", "bad bench sizes"); return NULL; }
  memset(&sp, 0, sizeof(sp)); memset(dp, 0, sizeof(dp));
  sp.vip = 0x0a3d0064; sp.port = 53; sp.protocol = 17; sp.scheduler = DD_SCHED_WLC; sp.pmask = 0xffffffff; sp.dest_count = 2;
  for (i = 0; i < 2; i++) { dp[i].addr = 0x0a3d000b + i; dp[i].port = 53; dp[i].weight = 1; dp[i].has_mac = 1; }
  dd_set_services(t, &sp, 1, dp, 2);
  memset(&p, 0, sizeof(p));
  p.daddr = sp.vip; p.dport = 53; p.proto = 17; p.tcpflags = 0; p.iplen = 64;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (i = 0; i < conns; i++) { p.saddr = 0x0b000000 + (i >> 4); p.sport = (uint16_t)(1024 + (i & 15)); dd_process(t, &p, 1000, &dc); }
  clock_gettime(CLOCK_MONOTONIC, &b);
  for (i = 0; i < lookups; i++) {
    uint32_t k = (uint32_t)(((uint64_t)i * 2654435761u) % conns);
    p.saddr = 0x0b000000 + (k >> 4); p.sport = (uint16_t)(1024 + (k & 15));
    dd_process(t, &p, 1000, &dc);
    sink += dc.dest;
  }
  clock_gettime(CLOCK_MONOTONIC, &c);
  napi_create_object(env, &r);
  set_num(env, r, "insertNs", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / conns);
  set_num(env, r, "lookupNs", ((c.tv_sec - b.tv_sec) * 1e9 + (c.tv_nsec - b.tv_nsec)) / lookups);
  set_num(env, r, "used", t->used);
  set_num(env, r, "bytes", (double)size * (sizeof(struct dd_conn) + sizeof(uint32_t)));
  dd_table_free(t);
  (void)sink;
  return r;
}

/* Benchmark entry (bench/conntable.ts): a SYN flood's aftermath timed inside C. `conns` SYNs spread over one
 * second into a table of `size` slots, then one packet per millisecond from 61 s later (every entry due) until the
 * table is empty. Returns the longest call and the total, in thread CPU time (descheduling excluded). */
static napi_value dd_bench_expire(napi_env env, napi_callback_info info) {
  ARGS(2);
  uint32_t size, conns, i, calls = 0;
  struct dd_table *t;
  struct dd_service_spec sp;
  struct dd_dest_spec dp[2];
  struct dd_pkt p;
  struct dd_decision dc;
  struct timespec a, b;
  double worst = 0, total = 0;
  const int64_t t0 = 10000000;
  napi_value r;
  CHECK(napi_get_value_uint32(env, argv[0], &size));
  CHECK(napi_get_value_uint32(env, argv[1], &conns));
  t = dd_table_new(size);
  if (!t || conns > size || !conns) { dd_table_free(t); napi_throw_error(env, "E_DATAPLANE_TABLE", "bad bench sizes"); return NULL; }
  memset(&sp, 0, sizeof(sp)); memset(dp, 0, sizeof(dp));
  sp.vip = 0x0a3d0064; sp.port = 80; sp.protocol = 6; sp.scheduler = DD_SCHED_RR; sp.pmask = 0xffffffff; sp.dest_count = 2;
  for (i = 0; i < 2; i++) { dp[i].addr = 0x0a3d000b + i; dp[i].port = 80; dp[i].weight = 1; dp[i].has_mac = 1; }
  dd_set_services(t, &sp, 1, dp, 2);
  memset(&p, 0, sizeof(p));   /* pflags, ipid, l2: a stack value would send packets down the ICMP or fragment path */
  p.daddr = sp.vip; p.dport = 80; p.proto = 6; p.tcpflags = DD_TH_SYN; p.iplen = 60;
  for (i = 0; i < conns; i++) {
    p.saddr = 0x0b000000 + (i >> 10); p.sport = (uint16_t)(1024 + (i & 1023));
    dd_process(t, &p, t0 + (int64_t)i * 1000 / conns, &dc);
  }
  p.saddr = 0x0c000000; p.tcpflags = DD_TH_ACK;
  for (int64_t now = t0 + 61000; t->used > 0 && calls < 1000000; now++, calls++) {
    double ns;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
    dd_process(t, &p, now, &dc);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
    ns = (b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec);
    total += ns;
    if (ns > worst) worst = ns;
  }
  napi_create_object(env, &r);
  set_num(env, r, "maxUs", worst / 1000);
  set_num(env, r, "nsPerEntry", total / conns);
  set_num(env, r, "calls", calls);
  dd_table_free(t);
  return r;
}

/* Benchmark entry (bench/conntable.ts): a SYN flood into a full table, timed inside C. `syns` SYNs from random
 * sources at `rate` per second of the table's clock into a table of `size` slots (it fills, then every SYN
 * evicts; entries that are not evicted expire after 60 s). Thread CPU time of each call and of each batch of 256
 * calls (a packet loop's batch): the table's own share of a loop stall. */
static napi_value dd_bench_flood(napi_env env, napi_callback_info info) {
  ARGS(3);
  uint32_t size, syns, rate, i, x = 12345;
  struct dd_table *t;
  struct dd_service_spec sp;
  struct dd_dest_spec dp[2];
  struct dd_pkt p;
  struct dd_decision dc;
  struct timespec a, b;
  double worst = 0, total = 0, batch = 0, worst_batch = 0;
  napi_value r;
  CHECK(napi_get_value_uint32(env, argv[0], &size));
  CHECK(napi_get_value_uint32(env, argv[1], &syns));
  CHECK(napi_get_value_uint32(env, argv[2], &rate));
  t = dd_table_new(size);
  if (!t || !rate || !syns) { dd_table_free(t); napi_throw_error(env, "E_DATAPLANE_TABLE", "bad bench sizes"); return NULL; }
  memset(&sp, 0, sizeof(sp)); memset(dp, 0, sizeof(dp));
  sp.vip = 0x0a3d0064; sp.port = 80; sp.protocol = 6; sp.scheduler = DD_SCHED_WLC; sp.pmask = 0xffffffff; sp.dest_count = 2;
  for (i = 0; i < 2; i++) { dp[i].addr = 0x0a3d000b + i; dp[i].port = 80; dp[i].weight = 1; dp[i].has_mac = 1; }
  dd_set_services(t, &sp, 1, dp, 2);
  memset(&p, 0, sizeof(p));   /* pflags, ipid, l2: a stack value would send packets down the ICMP or fragment path */
  p.daddr = sp.vip; p.dport = 80; p.proto = 6; p.tcpflags = DD_TH_SYN; p.iplen = 60;
  for (i = 0; i < syns; i++) {
    double ns;
    x = x * 1664525u + 1013904223u;
    p.saddr = 0x0a3e0000 + (x >> 16); p.sport = (uint16_t)(x * 2654435761u >> 16);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
    dd_process(t, &p, 10000000 + (int64_t)i * 1000 / rate, &dc);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
    ns = (b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec);
    total += ns; batch += ns;
    if (ns > worst) worst = ns;
    if (i % 256 == 255) { if (batch > worst_batch) worst_batch = batch; batch = 0; }
  }
  napi_create_object(env, &r);
  set_num(env, r, "maxCallUs", worst / 1000);
  set_num(env, r, "maxBatchUs", worst_batch / 1000);
  set_num(env, r, "meanNs", total / syns);
  set_num(env, r, "evictions", (double)t->counters[DD_C_EVICTIONS]);
  set_num(env, r, "used", t->used);
  dd_table_free(t);
  return r;
}

/* A 54-byte Ethernet/IPv4/TCP frame from saddr:sport to the bench VIP:80 (checksums are not read on this path). */
static void bench_frame(uint8_t *f, uint32_t saddr, uint16_t sport, uint8_t flags) {
  static const uint8_t tmpl[54] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00,
    0x45, 0, 0, 40, 0, 1, 0, 0, 64, 6, 0, 0, 0, 0, 0, 0, 0x0a, 0x3d, 0x00, 0x64,
    0, 0, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0, 0xff, 0xff, 0, 0, 0, 0 };
  memcpy(f, tmpl, sizeof(tmpl));
  f[26] = (uint8_t)(saddr >> 24); f[27] = (uint8_t)(saddr >> 16); f[28] = (uint8_t)(saddr >> 8); f[29] = (uint8_t)saddr;
  f[34] = (uint8_t)(sport >> 8); f[35] = (uint8_t)sport;
  f[47] = flags;
}

#define BENCH_BATCH_MAX 256
static const uint32_t bench_batches[] = { 2, 32, 256 };

/* Benchmark entry (bench/conntable.ts): the packet loop's access pattern. A table of `size` slots holding `conns`
 * ESTABLISHED TCP connections; then batches of frames written fresh (as the kernel writes the ring) and decided
 * under one lock, as the loops do: ACKs of random existing connections (cold entries), then SYNs of absent keys.
 * Three ways, batch by batch in turn (same table, same cache state): 0 as without a prefetch pass, 1 with the
 * bucket prefetch pass (prefetch.h), 2 with its second stage too (the chain's first entry). Each (kind, batch size)
 * gets `packets` frames per way. Returns ns per frame: [kind][batch size (bench_batches)][way], flattened. */
static napi_value dd_bench_batch(napi_env env, napi_callback_info info) {
  ARGS(3);
  uint32_t size, conns, packets, i, x = 2463534242u, nb = sizeof(bench_batches) / sizeof(bench_batches[0]);
  struct dd_table *t;
  struct dd_service_spec sp;
  struct dd_dest_spec dp[2];
  struct dd_pkt p;
  struct dd_decision dc;
  struct dd_hint hints[BENCH_BATCH_MAX];
  uint8_t *fr, mac[6] = { 2, 0, 0, 0, 0, 2 }, reply[DD_REPLY_MAX];
  napi_value r;
  CHECK(napi_get_value_uint32(env, argv[0], &size));
  CHECK(napi_get_value_uint32(env, argv[1], &conns));
  CHECK(napi_get_value_uint32(env, argv[2], &packets));
  t = dd_table_new(size);
  fr = malloc((size_t)BENCH_BATCH_MAX * 64);
  if (!t || !fr || conns > size || !conns || !packets) {
    dd_table_free(t); free(fr);
    napi_throw_error(env, "E_DATAPLANE_TABLE", "bad bench sizes"); return NULL;
  }
  memset(&sp, 0, sizeof(sp)); memset(dp, 0, sizeof(dp));
  sp.vip = 0x0a3d0064; sp.port = 80; sp.protocol = 6; sp.scheduler = DD_SCHED_RR; sp.pmask = 0xffffffff; sp.dest_count = 2;
  for (i = 0; i < 2; i++) { dp[i].addr = 0x0a3d000b + i; dp[i].port = 80; dp[i].weight = 1; dp[i].has_mac = 1; }
  dd_set_services(t, &sp, 1, dp, 2);
  memset(&p, 0, sizeof(p));
  p.daddr = sp.vip; p.dport = 80; p.proto = 6; p.iplen = 40;
  for (i = 0; i < conns; i++) {
    p.saddr = 0x0b000000 + (i >> 10); p.sport = (uint16_t)(1024 + (i & 1023));
    p.tcpflags = DD_TH_SYN; dd_process(t, &p, 1000, &dc);
    p.tcpflags = DD_TH_ACK; dd_process(t, &p, 1000, &dc);
  }
  napi_create_array_with_length(env, 2 * nb * 3, &r);
  for (uint32_t kind = 0; kind < 2; kind++)
    for (uint32_t bi = 0; bi < nb; bi++) {
      uint32_t bsz = bench_batches[bi];
      double ns[3] = { 0, 0, 0 };
      uint64_t done[3] = { 0, 0, 0 };
      for (uint32_t b = 0; done[2] < packets; b++) {
        uint32_t way = b % 3, k, rlen;
        struct timespec a, c;
        for (k = 0; k < bsz; k++) {
          x = x * 1664525u + 1013904223u;
          if (kind == 0) { uint32_t e = (x >> 4) % conns; bench_frame(fr + k * 64, 0x0b000000 + (e >> 10), (uint16_t)(1024 + (e & 1023)), DD_TH_ACK); }
          else bench_frame(fr + k * 64, 0x0c000000 + (x >> 12), (uint16_t)(1024 + (x & 4095)), DD_TH_SYN);
        }
        clock_gettime(CLOCK_MONOTONIC, &a);
        if (way) {
          for (k = 0; k < bsz; k++) dd_hint_frame(t, fr + k * 64, 54, DD_TAG_NONE, &hints[k]);
          if (way == 2) dd_hint_entries(t, hints, bsz);
        }
        dd_table_lock(t);
        for (k = 0; k < bsz; k++) dd_forward_frame_hinted(t, fr + k * 64, 54, 54, DD_TAG_NONE, 1000, mac, reply, &rlen, way ? &hints[k] : NULL);
        dd_table_unlock(t);
        clock_gettime(CLOCK_MONOTONIC, &c);
        ns[way] += (c.tv_sec - a.tv_sec) * 1e9 + (c.tv_nsec - a.tv_nsec);
        done[way] += bsz;
      }
      for (uint32_t w = 0; w < 3; w++) napi_set_element(env, r, (kind * nb + bi) * 3 + w, num(env, ns[w] / (double)done[w]));
    }
  dd_table_free(t);
  free(fr);
  return r;
}

/* Test entry (test/dataplane/prefetch.test.ts): frames through the packet loops' batch path on a directord_native.node
 * table: the prefetch pass (when more than one), then each frame decided under one lock with its hint. Args: handle,
 * array of frames (each copied), nowMs, our MAC. Returns per frame [result of dd_forward_frame, frame out or null]. */
static napi_value dd_table_forward_batch(napi_env env, napi_callback_info info) {
  ARGS(4);
  struct dd_table *t = table_of(env, argv[0]);
  uint32_t n, i, rlen[BENCH_BATCH_MAX];
  uint8_t *copy[BENCH_BATCH_MAX], reply[BENCH_BATCH_MAX][DD_REPLY_MAX];
  size_t len[BENCH_BATCH_MAX], ml;
  struct dd_hint hints[BENCH_BATCH_MAX];
  int res[BENCH_BATCH_MAX];
  int64_t now;
  void *mb;
  napi_value arr;
  if (!t) return NULL;
  CHECK(napi_get_array_length(env, argv[1], &n));
  CHECK(napi_get_value_int64(env, argv[2], &now));
  CHECK(napi_get_buffer_info(env, argv[3], &mb, &ml));
  if (n > BENCH_BATCH_MAX || ml != 6) { napi_throw_error(env, "E_DATAPLANE_NATIVE", "bad batch"); return NULL; }
  for (i = 0; i < n; i++) {
    napi_value b;
    void *fb;
    CHECK(napi_get_element(env, argv[1], i, &b));
    CHECK(napi_get_buffer_info(env, b, &fb, &len[i]));
    copy[i] = malloc(len[i] + 4);
    if (copy[i]) memcpy(copy[i] + 4, fb, len[i]);
  }
  for (i = 0; i < n; i++) if (!copy[i]) { while (n) free(copy[--n]); napi_throw_error(env, "E_DATAPLANE_NATIVE", "out of memory"); return NULL; }
  if (n > 1) {
    for (i = 0; i < n; i++) dd_hint_frame(t, copy[i] + 4, (uint32_t)len[i], DD_TAG_NONE, &hints[i]);
    dd_hint_entries(t, hints, n);
  }
  dd_table_lock(t);
  for (i = 0; i < n; i++)
    res[i] = dd_forward_frame_hinted(t, copy[i] + 4, (uint32_t)len[i], (uint32_t)len[i], DD_TAG_NONE, now, mb, reply[i], &rlen[i],
                                     n > 1 ? &hints[i] : NULL);
  dd_table_unlock(t);
  napi_create_array_with_length(env, n, &arr);
  for (i = 0; i < n; i++) {
    napi_value one, out;
    void *data;
    napi_create_array_with_length(env, 2, &one);
    napi_set_element(env, one, 0, num(env, res[i]));
    if (res[i] == 1 || res[i] == 2) {
      napi_create_buffer_copy(env, res[i] == 1 ? len[i] : rlen[i], res[i] == 1 ? copy[i] + 4 : reply[i], &data, &out);
    } else napi_get_null(env, &out);
    napi_set_element(env, one, 1, out);
    napi_set_element(env, arr, i, one);
    free(copy[i]);
  }
  return arr;
}

/* Args: handle, template (bool), proto, caddr, cport, vaddr, vport; returns the full 32-bit hash. */
static napi_value dd_table_hash(napi_env env, napi_callback_info info) {
  ARGS(7);
  struct dd_table *t = table_of(env, argv[0]);
  bool tmpl = false;
  uint32_t proto, caddr, cport, vaddr, vport, h;
  if (!t) return NULL;
  CHECK(napi_get_value_bool(env, argv[1], &tmpl));
  CHECK(napi_get_value_uint32(env, argv[2], &proto));
  CHECK(napi_get_value_uint32(env, argv[3], &caddr));
  CHECK(napi_get_value_uint32(env, argv[4], &cport));
  CHECK(napi_get_value_uint32(env, argv[5], &vaddr));
  CHECK(napi_get_value_uint32(env, argv[6], &vport));
  dd_table_lock(t);
  h = dd_conn_hash(t, tmpl, (uint8_t)proto, caddr, (uint16_t)cport, vaddr, (uint16_t)vport);
  dd_table_unlock(t);
  return num(env, h);
}

/* Args: handle, k0, k1 (BigInt). Only on an empty table: the buckets of existing entries would be wrong. */
static napi_value dd_table_set_hash_key(napi_env env, napi_callback_info info) {
  ARGS(3);
  struct dd_table *t = table_of(env, argv[0]);
  uint64_t k0, k1;
  bool lossless;
  int rc;
  if (!t) return NULL;
  CHECK(napi_get_value_bigint_uint64(env, argv[1], &k0, &lossless));
  CHECK(napi_get_value_bigint_uint64(env, argv[2], &k1, &lossless));
  dd_table_lock(t);
  rc = dd_set_hash_key(t, k0, k1);
  dd_table_unlock(t);
  if (rc) napi_throw_error(env, "E_DATAPLANE_STATE", "the hash key can only be set on an empty table");
  return NULL;
}

static napi_value abi_version(napi_env env, napi_callback_info info) { (void)info; return num(env, DD_ABI_VERSION); }

static napi_value init(napi_env env, napi_value exports) {
  static const struct dd_export fns[] = {
    { "abiVersion", abi_version },
    { "benchLookup", dd_bench_lookup }, { "benchExpire", dd_bench_expire }, { "benchFlood", dd_bench_flood },
    { "benchBatch", dd_bench_batch }, { "tableForwardBatch", dd_table_forward_batch },
    { "tableHash", dd_table_hash }, { "tableSetHashKey", dd_table_set_hash_key },
  };
  return export_functions(env, exports, fns, sizeof(fns) / sizeof(fns[0]));
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
