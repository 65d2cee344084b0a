/* Benchmark and test entries of directord_native.node (never used by the daemon). */
#ifndef DIRECTORD_PROBES_H
#define DIRECTORD_PROBES_H
#include <node_api.h>

napi_value dd_bench_lookup(napi_env env, napi_callback_info info);
napi_value dd_bench_expire(napi_env env, napi_callback_info info);
napi_value dd_bench_flood(napi_env env, napi_callback_info info);
napi_value dd_table_hash(napi_env env, napi_callback_info info);
napi_value dd_table_set_hash_key(napi_env env, napi_callback_info info);

#endif
