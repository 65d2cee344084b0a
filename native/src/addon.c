/* N-API surface of the native data plane. Arguments arrive already validated by src/dataplane/native.ts
 * (checked primitives and packed Buffers whose layout this file exports); errors are thrown with stable codes. */
#define NAPI_VERSION 8
#include <node_api.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "abi.h"
#include "addon.h"
#include "afpacket.h"
#include "core.h"
#include "forward.h"
#include "handle.h"
#include "napi_util.h"
#include "sdnotify.h"


static void finalize(napi_env env, void *data, void *hint) {
  struct handle *h = data;
  (void)env; (void)hint;
  if (h->loop) dd_loop_stop(h->loop);
  dd_table_free(h->t);
  free(h);
}

struct handle *get_handle(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || !p) {
    napi_throw_error(env, "E_DATAPLANE_NATIVE", "not a table handle");
    return NULL;
  }
  return p;
}

int get_buffer(napi_env env, napi_value v, void **data, size_t *len) {
  if (napi_get_buffer_info(env, v, data, len) != napi_ok) {
    napi_throw_error(env, "E_DATAPLANE_NATIVE", "expected a Buffer");
    return -1;
  }
  return 0;
}

int64_t clock_arg(napi_env env, napi_value v) {
  double d = -1;
  napi_get_value_double(env, v, &d);
  return d < 0 ? dd_now_ms() : (int64_t)d;
}

static napi_value abi_version(napi_env env, napi_callback_info info) { (void)info; return num(env, DD_ABI_VERSION); }
static napi_value now_ms(napi_env env, napi_callback_info info) { (void)info; return num(env, (double)dd_now_ms()); }

static napi_value table_create(napi_env env, napi_callback_info info) {
  ARGS(1);
  uint32_t size = 0;
  struct handle *h;
  napi_value ext;
  CHECK(napi_get_value_uint32(env, argv[0], &size));
  h = calloc(1, sizeof(*h));
  if (h) h->t = dd_table_new(size);
  if (!h || !h->t) { free(h); napi_throw_error(env, "E_DATAPLANE_TABLE", "cannot allocate the connection table"); return NULL; }
  CHECK(napi_create_external(env, h, finalize, NULL, &ext));
  return ext;
}

static napi_value table_set_services(napi_env env, napi_callback_info info) {
  ARGS(3);
  struct handle *h = get_handle(env, argv[0]);
  void *sb, *db;
  size_t sl, dl;
  int rc;
  if (!h || get_buffer(env, argv[1], &sb, &sl) || get_buffer(env, argv[2], &db, &dl)) return NULL;
  if (sl % sizeof(struct dd_service_spec) || dl % sizeof(struct dd_dest_spec)) {
    napi_throw_error(env, "E_DATAPLANE_ABI", "service/dest buffer size is not a whole number of records");
    return NULL;
  }
  dd_table_lock(h->t);
  rc = dd_set_services(h->t, sb, (uint32_t)(sl / sizeof(struct dd_service_spec)), db,
                       (uint32_t)(dl / sizeof(struct dd_dest_spec)));
  dd_table_unlock(h->t);
  /* dd_set_services checks before it changes anything: on any error the running table is untouched. */
  if (rc == -1) napi_throw_error(env, "E_DATAPLANE_LIMIT", "too many virtual services for the native table (table unchanged)");
  else if (rc == -2) napi_throw_error(env, "E_DATAPLANE_SERVICE", "malformed or duplicate service/dest records (table unchanged)");
  else if (rc == -3) napi_throw_error(env, "E_DATAPLANE_LIMIT", "no free real-server slot: removed servers still referenced by connections fill the native table (table unchanged)");
  else if (rc) napi_throw_error(env, "E_DATAPLANE_INTERNAL", "native table update failed");
  return NULL;
}

static napi_value table_set_timeouts(napi_env env, napi_callback_info info) {
  ARGS(4);
  struct handle *h = get_handle(env, argv[0]);
  uint32_t a, b, c;
  if (!h) return NULL;
  CHECK(napi_get_value_uint32(env, argv[1], &a));
  CHECK(napi_get_value_uint32(env, argv[2], &b));
  CHECK(napi_get_value_uint32(env, argv[3], &c));
  dd_table_lock(h->t);
  dd_set_timeouts(h->t, a, b, c);
  dd_table_unlock(h->t);
  return NULL;
}

static napi_value table_set_forwarding(napi_env env, napi_callback_info info) {
  ARGS(2);
  struct handle *h = get_handle(env, argv[0]);
  bool on = false;
  if (!h) return NULL;
  CHECK(napi_get_value_bool(env, argv[1], &on));
  h->t->forwarding = on ? 1 : 0;
  return NULL;
}

/* Args: handle, VLAN id (0 untagged .. DD_VLAN_MAX). Set before loopStart: the capture filter depends on it. */
static napi_value table_set_vlan(napi_env env, napi_callback_info info) {
  ARGS(2);
  struct handle *h = get_handle(env, argv[0]);
  uint32_t vid = 0;
  if (!h) return NULL;
  CHECK(napi_get_value_uint32(env, argv[1], &vid));
  if (vid > DD_VLAN_MAX) { napi_throw_range_error(env, "E_DATAPLANE_VLAN", "VLAN id out of range"); return NULL; }
  if (h->loop) { napi_throw_error(env, "E_DATAPLANE_STATE", "set the VLAN before the packet loop starts"); return NULL; }
  dd_table_lock(h->t);
  h->t->vlan = (uint16_t)vid;
  dd_table_unlock(h->t);
  return NULL;
}

static napi_value decision_value(napi_env env, struct handle *h, int verdict, const struct dd_decision *dc) {
  napi_value arr;
  double dest = -1, dport = -1;
  if (dc && dc->dest != DD_NIL) { dest = h->t->dests[dc->dest].addr; dport = h->t->dests[dc->dest].port; }
  napi_create_array_with_length(env, 5, &arr);
  napi_set_element(env, arr, 0, num(env, verdict));
  napi_set_element(env, arr, 1, num(env, dest));
  napi_set_element(env, arr, 2, num(env, dport));
  napi_set_element(env, arr, 3, num(env, dc ? dc->state : 0));
  napi_set_element(env, arr, 4, num(env, dc ? dc->created : 0));
  return arr;
}

/* Test entry: one frame through parser + table, no sockets. Returns [verdict, destAddr, destPort, state, created]. */
static napi_value table_process_frame(napi_env env, napi_callback_info info) {
  ARGS(3);
  struct handle *h = get_handle(env, argv[0]);
  void *fb;
  size_t fl;
  struct dd_pkt p;
  struct dd_decision dc;
  int v;
  if (!h || get_buffer(env, argv[1], &fb, &fl)) return NULL;
  int64_t now = clock_arg(env, argv[2]);
  dd_table_lock(h->t);
  v = dd_parse_frame_vlan(fb, (uint32_t)fl, h->t->vlan, DD_TAG_NONE, &p);
  if (v == DD_V_FORWARD) { dd_process(h->t, &p, now, &dc); v = dc.verdict; }
  if (v != DD_V_FORWARD) h->t->verdicts[v]++;
  dd_table_unlock(h->t);
  return decision_value(env, h, v, v == DD_V_FORWARD || v == DD_V_NO_MAC || v == DD_V_DEST_UNAVAILABLE || v == DD_V_DEST_CLOSED ? &dc : NULL);
}

/* Test entry: one frame through dd_forward_frame, the step every packet loop runs (frame in, frame out). Args: handle,
 * frame (not modified), nowMs, our MAC, and optionally the TCI of a tag the receive path took out (-1 none, -2 not
 * 802.1Q). Returns [result (0 drop, 1 forward, 2 reply, 3 forward with the tag put back), verdict index, frame out
 * or null]: the forwarded frame (tag back inline for 3), or the reply in place of a dropped one. */
static napi_value table_forward_frame(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  int32_t meta = DD_TAG_NONE;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) { napi_throw_error(env, "E_DATAPLANE_NATIVE", "missing arguments"); return NULL; }
  if (argc > 4) CHECK(napi_get_value_int32(env, argv[4], &meta));
  if (meta < DD_TAG_OTHER || meta > 0xffff) { napi_throw_range_error(env, "E_DATAPLANE_VLAN", "tag out of range"); return NULL; }
  struct handle *h = get_handle(env, argv[0]);
  void *fb, *mb;
  size_t fl, ml;
  uint8_t *copy, reply[DD_REPLY_MAX];
  uint32_t rlen = 0;
  uint64_t before[DD_V_COUNT];
  int r, v = DD_V_FORWARD, i;
  napi_value arr, out, nul;
  if (!h || get_buffer(env, argv[1], &fb, &fl) || get_buffer(env, argv[3], &mb, &ml)) return NULL;
  if (ml != 6) { napi_throw_error(env, "E_DATAPLANE_MAC", "our MAC must be 6 bytes"); return NULL; }
  int64_t now = clock_arg(env, argv[2]);
  copy = malloc(fl + 4);   /* 4 bytes of room before the frame, as PACKET_RESERVE gives the ring */
  if (!copy) { napi_throw_error(env, "E_DATAPLANE_NATIVE", "out of memory"); return NULL; }
  memcpy(copy + 4, fb, fl);
  dd_table_lock(h->t);
  memcpy(before, h->t->verdicts, sizeof(before));
  r = dd_forward_frame(h->t, copy + 4, (uint32_t)fl, (uint32_t)fl, meta, now, mb, reply, &rlen);
  for (i = 0; i < DD_V_COUNT; i++) if (h->t->verdicts[i] != before[i]) v = i;
  dd_table_unlock(h->t);
  napi_create_array_with_length(env, 3, &arr);
  napi_set_element(env, arr, 0, num(env, r));
  napi_set_element(env, arr, 1, num(env, v));
  napi_get_null(env, &nul);
  out = r == 1 ? copy_out(env, copy + 4, fl) : r == 3 ? copy_out(env, dd_insert_tag(copy + 4, meta), fl + 4)
      : r == 2 ? copy_out(env, reply, rlen) : nul;
  napi_set_element(env, arr, 2, out ? out : nul);
  free(copy);
  return arr;
}

/* Test entry: a packet summary (no frame). Args: handle, saddr, sport, daddr, dport, proto, tcpflags, iplen, nowMs. */
static napi_value table_process_packet(napi_env env, napi_callback_info info) {
  ARGS(9);
  struct handle *h = get_handle(env, argv[0]);
  uint32_t v[7];
  struct dd_pkt p;
  struct dd_decision dc;
  int i;
  if (!h) return NULL;
  for (i = 0; i < 7; i++) CHECK(napi_get_value_uint32(env, argv[1 + i], &v[i]));
  memset(&p, 0, sizeof(p));
  p.saddr = v[0]; p.sport = (uint16_t)v[1]; p.daddr = v[2]; p.dport = (uint16_t)v[3];
  p.proto = (uint8_t)v[4]; p.tcpflags = (uint8_t)v[5]; p.iplen = v[6];
  int64_t now = clock_arg(env, argv[8]);
  dd_table_lock(h->t);
  dd_process(h->t, &p, now, &dc);
  if (dc.verdict != DD_V_FORWARD) h->t->verdicts[dc.verdict]++;
  dd_table_unlock(h->t);
  return decision_value(env, h, dc.verdict, &dc);
}

/* Parser only (fuzzing): the verdict for arbitrary bytes. */
static napi_value parse_frame(napi_env env, napi_callback_info info) {
  ARGS(1);
  void *fb;
  size_t fl;
  struct dd_pkt p;
  if (get_buffer(env, argv[0], &fb, &fl)) return NULL;
  return num(env, dd_parse_frame(fb, (uint32_t)fl, &p));
}

napi_value copy_out(napi_env env, const void *src, size_t len) {
  napi_value buf;
  void *dst;
  if (napi_create_buffer_copy(env, len, src, &dst, &buf) != napi_ok) return NULL;
  return buf;
}

/* Counters: DD_C_COUNT globals then DD_V_COUNT verdicts, as uint64. */
static napi_value table_counters(napi_env env, napi_callback_info info) {
  ARGS(1);
  struct handle *h = get_handle(env, argv[0]);
  uint64_t out[DD_C_COUNT + DD_V_COUNT];
  if (!h) return NULL;
  dd_table_lock(h->t);
  if (h->loop) h->t->counters[DD_C_RING_DROPS] += dd_loop_ring_drops(h->loop);
  memcpy(out, h->t->counters, sizeof(h->t->counters));
  memcpy(out + DD_C_COUNT, h->t->verdicts, sizeof(h->t->verdicts));
  __atomic_store_n(&h->t->counters[DD_C_LOOP_MAX_US], 0, __ATOMIC_RELAXED);   /* a maximum since the last read */
  dd_table_unlock(h->t);
  return copy_out(env, out, sizeof(out));
}

static napi_value table_dest_stats(napi_env env, napi_callback_info info) {
  ARGS(1);
  struct handle *h = get_handle(env, argv[0]);
  struct dd_dest_stats *out;
  uint32_t n;
  napi_value r;
  if (!h) return NULL;
  out = malloc(sizeof(*out) * DD_MAX_DESTS);
  if (!out) { napi_throw_error(env, "E_DATAPLANE_NATIVE", "out of memory"); return NULL; }
  dd_table_lock(h->t);
  n = dd_stats(h->t, out, DD_MAX_DESTS);
  dd_table_unlock(h->t);
  r = copy_out(env, out, sizeof(*out) * n);
  free(out);
  return r;
}

static void set_num(napi_env env, napi_value obj, const char *k, double v) { napi_set_named_property(env, obj, k, num(env, v)); }
static void set_names(napi_env env, napi_value obj, const char *k, const char *const *names, uint32_t n) {
  napi_value arr, s;
  napi_create_array_with_length(env, n, &arr);
  for (uint32_t i = 0; i < n; i++) {
    napi_create_string_utf8(env, names[i], NAPI_AUTO_LENGTH, &s);
    napi_set_element(env, arr, i, s);
  }
  napi_set_named_property(env, obj, k, arr);
}

/* Names in enum order (abi.h), so TypeScript maps indices without a copy of the enums. */
static const char *const verdict_names[DD_V_COUNT] = { "forward", "truncated", "not_ipv4", "vlan", "bad_ihl", "fragment",
  "no_service", "no_conn", "no_dest", "dest_unavailable", "no_mac", "not_active", "table_full", "tx_error",
  "icmp_no_conn", "dest_closed" };
static const char *const state_names[DD_S_COUNT] = { "NONE", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT",
  "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "SYNACK", "UDP", "ASSURED" };
static const char *const counter_names[DD_C_COUNT] = { "rxFrames", "txFrames", "rxBytes", "conns", "syncOverflow",
  "ringDrops", "loopWakeups", "evictions", "loopMaxUs", "icmpRelayed", "icmpUnreachSent", "icmpUnreachLimited",
  "fragments", "lockTaken", "lockContended", "lockWaitNs",
  "lockHoldNs", "resetsSent" };
static const char *const scheduler_names[DD_SCHED_COUNT] = { "wlc", "lc", "rr", "wrr", "sh", "mh", "fo" };

/* Sizes and offsets of every record in abi.h, so native.ts never hard-codes a layout. */
static napi_value layout(napi_env env, napi_callback_info info) {
  napi_value r, s, d, st, c;
  (void)info;
  napi_create_object(env, &r); napi_create_object(env, &s); napi_create_object(env, &d);
  napi_create_object(env, &st); napi_create_object(env, &c);
#define F(obj, T, f) set_num(env, obj, #f, offsetof(struct T, f))
  set_num(env, s, "size", sizeof(struct dd_service_spec));
  F(s, dd_service_spec, vip); F(s, dd_service_spec, pmask); F(s, dd_service_spec, fwmark); F(s, dd_service_spec, persistent_ms);
  F(s, dd_service_spec, port); F(s, dd_service_spec, protocol); F(s, dd_service_spec, scheduler);
  F(s, dd_service_spec, expire_quiescent_template); F(s, dd_service_spec, expire_nodest_conn);
  F(s, dd_service_spec, dest_count); F(s, dd_service_spec, dest_first);
  set_num(env, d, "size", sizeof(struct dd_dest_spec));
  F(d, dd_dest_spec, addr); F(d, dd_dest_spec, weight); F(d, dd_dest_spec, port); F(d, dd_dest_spec, has_mac); F(d, dd_dest_spec, mac);
  F(d, dd_dest_spec, failed); F(d, dd_dest_spec, close_conns);
  set_num(env, st, "size", sizeof(struct dd_dest_stats));
  F(st, dd_dest_stats, conns); F(st, dd_dest_stats, in_pkts); F(st, dd_dest_stats, in_bytes); F(st, dd_dest_stats, svc_index);
  F(st, dd_dest_stats, addr); F(st, dd_dest_stats, weight); F(st, dd_dest_stats, active_conns); F(st, dd_dest_stats, inact_conns);
  F(st, dd_dest_stats, persist_conns); F(st, dd_dest_stats, port);
  set_num(env, c, "size", sizeof(struct dd_conn_record));
  F(c, dd_conn_record, expires_ms); F(c, dd_conn_record, caddr); F(c, dd_conn_record, vaddr); F(c, dd_conn_record, daddr);
  F(c, dd_conn_record, fwmark); F(c, dd_conn_record, cport); F(c, dd_conn_record, vport); F(c, dd_conn_record, dport);
  F(c, dd_conn_record, protocol); F(c, dd_conn_record, state); F(c, dd_conn_record, template_);
#undef F
  napi_set_named_property(env, r, "service", s);
  napi_set_named_property(env, r, "dest", d);
  napi_set_named_property(env, r, "destStats", st);
  napi_set_named_property(env, r, "conn", c);
  napi_set_named_property(env, r, "xdpKey", xdp_key_layout(env));
  set_names(env, r, "verdicts", verdict_names, DD_V_COUNT);
  set_names(env, r, "states", state_names, DD_S_COUNT);
  set_names(env, r, "counters", counter_names, DD_C_COUNT);
  set_names(env, r, "schedulers", scheduler_names, DD_SCHED_COUNT);
  set_num(env, r, "counterCount", DD_C_COUNT);
  set_num(env, r, "verdictCount", DD_V_COUNT);
  set_num(env, r, "maxServices", DD_MAX_SERVICES);
  set_num(env, r, "maxDestsPerService", DD_MAX_DESTS_PER_SERVICE);
  set_num(env, r, "maxDests", DD_MAX_DESTS);
  set_num(env, r, "syncRing", DD_SYNC_RING);
  set_num(env, r, "connBytes", sizeof(struct dd_conn) + sizeof(uint32_t));
  return r;
}

static napi_value init(napi_env env, napi_value exports) {
  static const struct dd_export fns[] = {
    { "abiVersion", abi_version }, { "layout", layout }, { "nowMs", now_ms }, { "parseFrame", parse_frame },
    { "tableCreate", table_create }, { "tableSetServices", table_set_services }, { "tableSetTimeouts", table_set_timeouts },
    { "tableSetForwarding", table_set_forwarding }, { "tableSetVlan", table_set_vlan }, { "tableProcessFrame", table_process_frame },
    { "tableProcessPacket", table_process_packet }, { "tableForwardFrame", table_forward_frame }, { "tableCounters", table_counters },
    { "tableDestStats", table_dest_stats }, { "tableConnections", table_connections },
    { "tableDrainSync", table_drain_sync }, { "tableApplySync", table_apply_sync },
    { "loopStart", loop_start }, { "loopSetFilter", loop_set_filter }, { "loopStop", loop_stop }, { "loopThreads", loop_threads },
    { "sdNotify", dd_sd_notify },
  };
  return export_functions(env, exports, fns, sizeof(fns) / sizeof(fns[0]));
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
