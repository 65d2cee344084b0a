/* N-API surface of directord_afxdp.node, the optional AF_XDP addon (linked with libxdp/libbpf, so the main addon
 * stays loadable without them). It drives the table of a directord_native.node handle from the same build. */
#define NAPI_VERSION 8
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include "abi.h"
#include "afxdp.h"
#include "handle.h"
#include "napi_util.h"

struct xdp_handle {
  struct dd_xdp *x;
  napi_ref table;               /* keeps the table alive while the loop runs */
};


static napi_value abi_version(napi_env env, napi_callback_info info) { (void)info; return num(env, DD_ABI_VERSION); }

static void finalize(napi_env env, void *data, void *hint) {
  struct xdp_handle *h = data;
  (void)hint;
  if (h->x) dd_xdp_stop(h->x);
  if (h->table) napi_delete_reference(env, h->table);
  free(h);
}

static struct xdp_handle *get_xdp(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || !p) { napi_throw_error(env, "E_DATAPLANE_NATIVE", "not an XDP handle"); return NULL; }
  return p;
}

/* Args: table handle, ifname, mac (6-byte Buffer), path of directord_xdp.bpf.o, skb mode, busy-poll µs, packet
 * threads (0: one per RX queue, at most one per usable CPU but one). Returns the XDP handle. */
static napi_value xdp_start(napi_env env, napi_callback_info info) {
  ARGS(7);
  bool skb = false;
  uint32_t spin = 0, threads = 0;
  void *tp = NULL, *mac;
  size_t macl, len;
  char ifname[64], path[4096], err[512];
  struct xdp_handle *h;
  napi_value ext;
  if (napi_get_value_external(env, argv[0], &tp) != napi_ok || !tp) { napi_throw_error(env, "E_DATAPLANE_NATIVE", "not a table handle"); return NULL; }
  CHECK(napi_get_buffer_info(env, argv[2], &mac, &macl));
  if (macl != 6) { napi_throw_error(env, "E_DATAPLANE_ABI", "mac must be 6 bytes"); return NULL; }
  CHECK(napi_get_value_string_utf8(env, argv[1], ifname, sizeof(ifname), &len));
  CHECK(napi_get_value_string_utf8(env, argv[3], path, sizeof(path), &len));
  CHECK(napi_get_value_bool(env, argv[4], &skb));
  CHECK(napi_get_value_uint32(env, argv[5], &spin));
  CHECK(napi_get_value_uint32(env, argv[6], &threads));
  if (spin > DD_MAX_SPIN_US) { napi_throw_range_error(env, "E_DATAPLANE_ABI", "busy-poll microseconds out of range"); return NULL; }
  if (threads > DD_XDP_MAX_QUEUES) { napi_throw_range_error(env, "E_DATAPLANE_ABI", "packet threads out of range"); return NULL; }
  h = calloc(1, sizeof(*h));
  if (!h) { napi_throw_error(env, "E_DATAPLANE_NATIVE", "out of memory"); return NULL; }
  if (dd_xdp_start(&h->x, ((struct handle *)tp)->t, ifname, mac, path, skb ? 1 : 0, spin, threads, err, sizeof(err))) {
    free(h);
    napi_throw_error(env, "E_DATAPLANE_XDP", err);
    return NULL;
  }
  CHECK(napi_create_reference(env, argv[0], 1, &h->table));
  CHECK(napi_create_external(env, h, finalize, NULL, &ext));
  return ext;
}

/* Args: XDP handle, Buffer of struct dd_xdp_key. */
static napi_value xdp_set_services(napi_env env, napi_callback_info info) {
  ARGS(2);
  struct xdp_handle *h = get_xdp(env, argv[0]);
  void *b;
  size_t l;
  char err[512];
  if (!h) return NULL;
  CHECK(napi_get_buffer_info(env, argv[1], &b, &l));
  if (l % sizeof(struct dd_xdp_key)) { napi_throw_error(env, "E_DATAPLANE_ABI", "XDP key buffer size"); return NULL; }
  if (!h->x) { napi_throw_error(env, "E_DATAPLANE_STATE", "XDP loop not running"); return NULL; }
  if (dd_xdp_set_services(h->x, b, (uint32_t)(l / sizeof(struct dd_xdp_key)), err, sizeof(err))) napi_throw_error(env, "E_DATAPLANE_XDP", err);
  return NULL;
}

static napi_value xdp_stop(napi_env env, napi_callback_info info) {
  ARGS(1);
  struct xdp_handle *h = get_xdp(env, argv[0]);
  if (!h) return NULL;
  if (h->x) dd_xdp_stop(h->x);
  h->x = NULL;
  if (h->table) napi_delete_reference(env, h->table);
  h->table = NULL;
  return NULL;
}

/* Returns true when a stale directord program was removed, false when there was none; throws for a foreign one. */
static napi_value xdp_remove_stale(napi_env env, napi_callback_info info) {
  ARGS(1);
  char ifname[64], err[512];
  size_t len;
  napi_value r;
  int rc;
  CHECK(napi_get_value_string_utf8(env, argv[0], ifname, sizeof(ifname), &len));
  rc = dd_xdp_remove_stale(ifname, err, sizeof(err));
  if (rc < 0) { napi_throw_error(env, "E_DATAPLANE_XDP", err); return NULL; }
  napi_get_boolean(env, rc == 1, &r);
  return r;
}

/* Attach mode, zero-copy, dispatcher, queue and thread counts, and the frames each queue's socket delivered. */
static napi_value xdp_info(napi_env env, napi_callback_info info) {
  ARGS(1);
  struct xdp_handle *h = get_xdp(env, argv[0]);
  struct dd_xdp_info xi;
  napi_value r, s, b, arr;
  uint32_t i;
  if (!h) return NULL;
  if (!h->x) { napi_throw_error(env, "E_DATAPLANE_STATE", "XDP loop not running"); return NULL; }
  dd_xdp_info(h->x, &xi);
  napi_create_object(env, &r);
  napi_create_string_utf8(env, xi.mode, NAPI_AUTO_LENGTH, &s);
  napi_set_named_property(env, r, "attachMode", s);
  napi_get_boolean(env, xi.zerocopy, &b);
  napi_set_named_property(env, r, "zeroCopy", b);
  napi_get_boolean(env, xi.dispatcher, &b);
  napi_set_named_property(env, r, "dispatcher", b);
  napi_set_named_property(env, r, "threads", num(env, xi.threads));
  napi_create_array_with_length(env, xi.queues, &arr);
  for (i = 0; i < xi.queues; i++) {
    uint32_t q;
    uint64_t n = dd_xdp_queue_frames(h->x, i, &q);
    napi_value o;
    napi_create_object(env, &o);
    napi_set_named_property(env, o, "queue", num(env, q));
    napi_set_named_property(env, o, "rxFrames", num(env, (double)n));
    napi_set_element(env, arr, i, o);
  }
  napi_set_named_property(env, r, "queues", arr);
  return r;
}

/* The XDP key's layout (native/include/xdp_abi.h), the same object the main addon's layout() has as xdpKey: the
 * loader checks that both addons agree before writing a key. */
static napi_value layout(napi_env env, napi_callback_info info) {
  napi_value r;
  (void)info;
  napi_create_object(env, &r);
  napi_set_named_property(env, r, "xdpKey", xdp_key_layout(env));
  return r;
}

static napi_value init(napi_env env, napi_value exports) {
  static const struct dd_export fns[] = {
    { "abiVersion", abi_version }, { "layout", layout }, { "xdpStart", xdp_start }, { "xdpSetServices", xdp_set_services },
    { "xdpStop", xdp_stop }, { "xdpRemoveStale", xdp_remove_stale }, { "xdpInfo", xdp_info },
  };
  return export_functions(env, exports, fns, sizeof(fns) / sizeof(fns[0]));
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
