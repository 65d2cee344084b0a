/* N-API plumbing shared by directord_native.node and directord_afxdp.node: argument checks that throw
 * E_DATAPLANE_NATIVE instead of crashing, number boxing, and exporting a function table. */
#ifndef DIRECTORD_NAPI_UTIL_H
#define DIRECTORD_NAPI_UTIL_H
#include <node_api.h>
#include <stddef.h>

#define CHECK(call) do { if ((call) != napi_ok) { napi_throw_error(env, "E_DATAPLANE_NATIVE", #call " failed"); return NULL; } } while (0)
#define ARGS(n) size_t argc = n; napi_value argv[n]; CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL)); \
  if (argc < n) { napi_throw_error(env, "E_DATAPLANE_NATIVE", "missing arguments"); return NULL; }

struct dd_export { const char *name; napi_callback fn; };

static inline napi_value num(napi_env env, double v) { napi_value r; napi_create_double(env, v, &r); return r; }

static inline napi_value export_functions(napi_env env, napi_value exports, const struct dd_export *fns, size_t n) {
  for (size_t i = 0; i < n; i++) {
    napi_value fn;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &fn);
    napi_set_named_property(env, exports, fns[i].name, fn);
  }
  return exports;
}

#endif
