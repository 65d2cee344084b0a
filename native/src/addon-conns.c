/* N-API surface of the connection records of directord_native.node: the table's connections (ipvsadm -lnc) and the
 * sync records a table drains for its peer and applies from it (struct dd_conn_record, abi.h). */
#define NAPI_VERSION 8
#include <node_api.h>
#include <stdlib.h>
#include "abi.h"
#include "addon.h"
#include "core.h"
#include "napi_util.h"

static napi_value records_out(napi_env env, struct handle *h, uint32_t max, int64_t now, int drain) {
  struct dd_conn_record *out;
  uint32_t n;
  napi_value r;
  if (max == 0) return copy_out(env, "", 0);
  out = malloc(sizeof(*out) * max);
  if (!out) { napi_throw_error(env, "E_DATAPLANE_NATIVE", "out of memory"); return NULL; }
  dd_table_lock(h->t);
  n = drain ? dd_drain_sync(h->t, out, max) : dd_connections(h->t, now, out, max);
  dd_table_unlock(h->t);
  r = copy_out(env, out, sizeof(*out) * n);
  free(out);
  return r;
}

napi_value table_connections(napi_env env, napi_callback_info info) {
  ARGS(3);
  struct handle *h = get_handle(env, argv[0]);
  uint32_t max = 0;
  if (!h) return NULL;
  CHECK(napi_get_value_uint32(env, argv[1], &max));
  if (max > h->t->size) max = h->t->size;
  /* Room for what is there now plus what a busy loop may add meanwhile, not a whole table's worth. */
  if (max > h->t->used + 4096) max = h->t->used + 4096;
  return records_out(env, h, max, clock_arg(env, argv[2]), 0);
}

/* At most max records (capped at the ring's size): the caller bounds the work of one turn of its event loop and
 * drains the rest on the next. */
napi_value table_drain_sync(napi_env env, napi_callback_info info) {
  ARGS(2);
  struct handle *h = get_handle(env, argv[0]);
  uint32_t max = 0;
  if (!h) return NULL;
  CHECK(napi_get_value_uint32(env, argv[1], &max));
  if (max > DD_SYNC_RING) max = DD_SYNC_RING;
  return records_out(env, h, max, 0, 1);
}

napi_value table_apply_sync(napi_env env, napi_callback_info info) {
  ARGS(3);
  struct handle *h = get_handle(env, argv[0]);
  void *b;
  size_t l;
  uint32_t n;
  if (!h || get_buffer(env, argv[1], &b, &l)) return NULL;
  if (l % sizeof(struct dd_conn_record)) { napi_throw_error(env, "E_DATAPLANE_ABI", "sync buffer size"); return NULL; }
  int64_t now = clock_arg(env, argv[2]);
  dd_table_lock(h->t);
  n = dd_apply_sync(h->t, b, (uint32_t)(l / sizeof(struct dd_conn_record)), now);
  dd_table_unlock(h->t);
  return num(env, n);
}
