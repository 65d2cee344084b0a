/* N-API entry of the native data plane: exports the ABI version so the loader can refuse a mismatched build. */
#define NAPI_VERSION 8
#include <node_api.h>
#include "abi.h"

static napi_value abi_version(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value v;
  napi_create_uint32(env, DD_ABI_VERSION, &v);
  return v;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "abiVersion", NAPI_AUTO_LENGTH, abi_version, NULL, &fn);
  napi_set_named_property(env, exports, "abiVersion", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
