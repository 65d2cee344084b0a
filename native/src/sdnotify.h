/* sd_notify(3) without libsystemd: the one datagram, sent from the main PID (native/src/sdnotify.c). */
#ifndef DIRECTORD_SDNOTIFY_H
#define DIRECTORD_SDNOTIFY_H
#include <node_api.h>

napi_value dd_sd_notify(napi_env env, napi_callback_info info);

#endif
