/* N-API plumbing shared by directord_native.node and directord_afxdp.node: argument checks that throw
 * E_DATAPLANE_NATIVE instead of crashing, number boxing, and exporting a function table. */
#ifndef DIRECTORD_NAPI_UTIL_H
#define DIRECTORD_NAPI_UTIL_H
#include <node_api.h>
#include <stddef.h>
#include "xdp_abi.h"

#define CHECK(call) do { if ((call) != napi_ok) { napi_throw_error(env, "E_DATAPLANE_NATIVE", #call " failed"); return NULL; } } while (0)
#define ARGS(n) size_t argc = n; napi_value argv[n]; CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL)); \
  if (argc < n) { napi_throw_error(env, "E_DATAPLANE_NATIVE", "missing arguments"); return NULL; }

struct dd_export { const char *name; napi_callback fn; };

static inline napi_value num(napi_env env, double v) { napi_value r; napi_create_double(env, v, &r); return r; }

/* struct dd_xdp_key's size and offsets, exported by both addons' layout() (native.ts checks they agree). */
static inline napi_value xdp_key_layout(napi_env env) {
  napi_value k;
  napi_create_object(env, &k);
  napi_set_named_property(env, k, "size", num(env, sizeof(struct dd_xdp_key)));
  napi_set_named_property(env, k, "vip", num(env, offsetof(struct dd_xdp_key, vip)));
  napi_set_named_property(env, k, "port", num(env, offsetof(struct dd_xdp_key, port)));
  napi_set_named_property(env, k, "proto", num(env, offsetof(struct dd_xdp_key, proto)));
  return k;
}

static inline napi_value export_functions(napi_env env, napi_value exports, const struct dd_export *fns, size_t n) {
  for (size_t i = 0; i < n; i++) {
    napi_value fn;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &fn);
    napi_set_named_property(env, exports, fns[i].name, fn);
  }
  return exports;
}

#endif
