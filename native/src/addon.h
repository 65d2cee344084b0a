/* Shared by the N-API files of directord_native.node: addon.c (tables, counters, layout) and addon-loop.c (the
 * AF_PACKET packet threads). */
#ifndef DIRECTORD_ADDON_H
#define DIRECTORD_ADDON_H
#include <node_api.h>
#include "handle.h"

struct handle *get_handle(napi_env env, napi_value v);
int get_buffer(napi_env env, napi_value v, void **data, size_t *len);
napi_value loop_start(napi_env env, napi_callback_info info);
napi_value loop_set_filter(napi_env env, napi_callback_info info);
napi_value loop_stop(napi_env env, napi_callback_info info);
napi_value loop_threads(napi_env env, napi_callback_info info);

#endif
