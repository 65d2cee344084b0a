/* N-API surface of the AF_PACKET packet threads (start with N threads, swap the capture filter, stop), apart from
 * addon.c's tables and counters. Arguments arrive validated by src/dataplane/native.ts. */
#define NAPI_VERSION 8
#include <node_api.h>
#include <stdbool.h>
#include "abi.h"
#include "addon.h"
#include "afpacket.h"
#include "napi_util.h"

/* Args: handle, ifname, mac, filter, vnet, v2 ring, busy-poll µs (0..DD_MAX_SPIN_US), threads (1..DD_MAX_PACKET_THREADS). */
napi_value loop_start(napi_env env, napi_callback_info info) {
  ARGS(8);
  struct handle *h = get_handle(env, argv[0]);
  char ifname[64], filter[65536], err[512];
  size_t len;
  void *mac;
  size_t macl;
  bool vnet = false, v2 = false;
  uint32_t spin = 0, threads = 1;
  if (!h || get_buffer(env, argv[2], &mac, &macl)) return NULL;
  if (macl != 6) { napi_throw_error(env, "E_DATAPLANE_ABI", "mac must be 6 bytes"); return NULL; }
  CHECK(napi_get_value_string_utf8(env, argv[1], ifname, sizeof(ifname), &len));
  CHECK(napi_get_value_string_utf8(env, argv[3], filter, sizeof(filter), &len));
  CHECK(napi_get_value_bool(env, argv[4], &vnet));
  CHECK(napi_get_value_bool(env, argv[5], &v2));
  CHECK(napi_get_value_uint32(env, argv[6], &spin));
  CHECK(napi_get_value_uint32(env, argv[7], &threads));
  if (spin > DD_MAX_SPIN_US) { napi_throw_range_error(env, "E_DATAPLANE_ABI", "busy-poll microseconds out of range"); return NULL; }
  if (threads < 1 || threads > DD_MAX_PACKET_THREADS) { napi_throw_range_error(env, "E_DATAPLANE_ABI", "packet threads out of range"); return NULL; }
  if (h->loop) { napi_throw_error(env, "E_DATAPLANE_STATE", "packet loop already running"); return NULL; }
  if (dd_loop_start(&h->loop, h->t, ifname, mac, filter, vnet ? 1 : 0, v2 ? 1 : 0, spin, threads, err, sizeof(err))) {
    h->loop = NULL;
    napi_throw_error(env, "E_DATAPLANE_SOCKET", err);
  }
  return NULL;
}

napi_value loop_set_filter(napi_env env, napi_callback_info info) {
  ARGS(2);
  struct handle *h = get_handle(env, argv[0]);
  char filter[65536], err[512];
  size_t len;
  if (!h) return NULL;
  if (!h->loop) { napi_throw_error(env, "E_DATAPLANE_STATE", "packet loop not running"); return NULL; }
  CHECK(napi_get_value_string_utf8(env, argv[1], filter, sizeof(filter), &len));
  if (dd_loop_set_filter(h->loop, filter, err, sizeof(err))) napi_throw_error(env, "E_DATAPLANE_FILTER", err);
  return NULL;
}

napi_value loop_stop(napi_env env, napi_callback_info info) {
  ARGS(1);
  struct handle *h = get_handle(env, argv[0]);
  if (!h) return NULL;
  if (h->loop) dd_loop_stop(h->loop);
  h->loop = NULL;
  return NULL;
}

/* Frames taken by each packet thread since start, one number per thread ([] when no loop runs). */
napi_value loop_threads(napi_env env, napi_callback_info info) {
  ARGS(1);
  struct handle *h = get_handle(env, argv[0]);
  uint64_t frames[DD_MAX_PACKET_THREADS];
  unsigned n;
  napi_value arr;
  if (!h) return NULL;
  n = dd_loop_thread_frames(h->loop, frames, DD_MAX_PACKET_THREADS);
  CHECK(napi_create_array_with_length(env, n, &arr));
  for (unsigned i = 0; i < n; i++) CHECK(napi_set_element(env, arr, i, num(env, (double)frames[i])));
  return arr;
}
