/* Shared by the N-API files of directord_native.node: addon.c (tables, counters, layout), addon-conns.c (connection
 * and sync records) and addon-loop.c (the AF_PACKET packet threads). */
#ifndef DIRECTORD_ADDON_H
#define DIRECTORD_ADDON_H
#include <node_api.h>
#include <stdint.h>
#include "handle.h"

struct handle *get_handle(napi_env env, napi_value v);
int get_buffer(napi_env env, napi_value v, void **data, size_t *len);
/* A Buffer holding a copy of len bytes (NULL on failure); a clock argument, negative meaning the loop's clock now. */
napi_value copy_out(napi_env env, const void *src, size_t len);
int64_t clock_arg(napi_env env, napi_value v);
napi_value table_connections(napi_env env, napi_callback_info info);
napi_value table_drain_sync(napi_env env, napi_callback_info info);
napi_value table_apply_sync(napi_env env, napi_callback_info info);
napi_value loop_start(napi_env env, napi_callback_info info);
napi_value loop_set_filter(napi_env env, napi_callback_info info);
napi_value loop_stop(napi_env env, napi_callback_info info);
napi_value loop_threads(napi_env env, napi_callback_info info);

#endif
