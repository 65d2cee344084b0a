/* sd_notify(3) from the daemon's own PID: one datagram to $NOTIFY_SOCKET, so the unit can say NotifyAccess=main
 * (Node.js has no UNIX datagram sockets, and a systemd-notify child is another PID that systemd must trust). */
#define NAPI_VERSION 8
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "napi_util.h"
#include "sdnotify.h"

/* sdNotify(socketPath, message) → 0 or an errno. '@' starts an abstract socket name, as in sd_notify(3).
 * MSG_DONTWAIT: a full receive queue must not stall the event loop; the caller retries on EAGAIN. */
napi_value dd_sd_notify(napi_env env, napi_callback_info info) {
  ARGS(2);
  struct sockaddr_un a;
  size_t plen = 0, mlen = 0;
  memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  CHECK(napi_get_value_string_utf8(env, argv[0], NULL, 0, &plen));
  if (plen < 2 || plen >= sizeof a.sun_path) return num(env, EINVAL);
  CHECK(napi_get_value_string_utf8(env, argv[0], a.sun_path, sizeof a.sun_path, &plen));
  if (a.sun_path[0] != '/' && a.sun_path[0] != '@') return num(env, EAFNOSUPPORT); /* e.g. vsock:…, not handled */
  socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen + (a.sun_path[0] == '@' ? 0 : 1));
  if (a.sun_path[0] == '@') a.sun_path[0] = '\0';

  CHECK(napi_get_value_string_utf8(env, argv[1], NULL, 0, &mlen));
  char *msg = malloc(mlen + 1);
  if (!msg) return num(env, ENOMEM);
  if (napi_get_value_string_utf8(env, argv[1], msg, mlen + 1, &mlen) != napi_ok) {
    free(msg);
    napi_throw_error(env, "E_DATAPLANE_NATIVE", "sdNotify: message is not a string");
    return NULL;
  }
  int err = 0;
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) err = errno;
  else {
    ssize_t n = sendto(fd, msg, mlen, MSG_NOSIGNAL | MSG_DONTWAIT, (struct sockaddr *)&a, alen);
    if (n < 0) err = errno;
    else if ((size_t)n != mlen) err = EMSGSIZE;
    close(fd);
  }
  free(msg);
  return num(env, err);
}
