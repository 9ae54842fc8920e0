// Kernel peer credentials of a connected unix socket, for workload attestation.
// Every failure throws an Error whose `code` is the errno name and whose message has the errno text.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <node_api.h>

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77 // Linux 6.5+; libc headers here predate it
#endif

static napi_value throw_error(napi_env env, const char *code, const char *message, int err) {
  napi_value code_value, message_value, error;
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &code_value);
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &message_value);
  napi_create_error(env, code_value, message_value, &error);
  if (err != 0) {
    napi_value errno_value;
    napi_create_int32(env, err, &errno_value);
    napi_set_named_property(env, error, "errno", errno_value);
  }
  napi_throw(env, error);
  return NULL;
}

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char message[256];
  snprintf(message, sizeof message, "%s: %s", what, strerror(err));
  const char *name = strerrorname_np(err);
  return throw_error(env, name ? name : "EUNKNOWN", message, err);
}

static int fd_argument(napi_env env, napi_callback_info info, int *fd) {
  size_t argc = 1;
  napi_value argv[1];
  napi_valuetype type;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_typeof(env, argv[0], &type) != napi_ok || type != napi_number ||
      napi_get_value_int32(env, argv[0], fd) != napi_ok || *fd < 0) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected a file descriptor (a non-negative integer)");
    return 0;
  }
  return 1;
}

// SO_PEERCRED "succeeds" on TCP sockets too (pid 0, uid -1): refuse anything that is not AF_UNIX.
static int require_unix_socket(napi_env env, int fd) {
  int domain = -1;
  socklen_t len = sizeof domain;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0) {
    throw_errno(env, "getsockopt(SO_DOMAIN)", errno);
    return 0;
  }
  if (domain != AF_UNIX) {
    char message[128];
    snprintf(message, sizeof message, "socket domain is %d, not AF_UNIX: no kernel peer credentials", domain);
    throw_error(env, "ERR_NOT_UNIX_SOCKET", message, 0);
    return 0;
  }
  return 1;
}

static napi_value set_uint32(napi_env env, napi_value object, const char *name, uint32_t value) {
  napi_value v;
  napi_create_uint32(env, value, &v);
  napi_set_named_property(env, object, name, v);
  return object;
}

static napi_value peer_credentials(napi_env env, napi_callback_info info) {
  int fd;
  if (!fd_argument(env, info, &fd) || !require_unix_socket(env, fd)) return NULL;
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return throw_errno(env, "getsockopt(SO_PEERCRED)", errno);
  napi_value result, pid;
  napi_create_object(env, &result);
  napi_create_int32(env, cred.pid, &pid);
  napi_set_named_property(env, result, "pid", pid);
  set_uint32(env, result, "uid", cred.uid);
  return set_uint32(env, result, "gid", cred.gid);
}

// Returns the pidfd, or -1 where the kernel has no SO_PEERPIDFD (ENOPROTOOPT) or cannot give one (EINVAL).
static napi_value peer_pidfd(napi_env env, napi_callback_info info) {
  int fd;
  if (!fd_argument(env, info, &fd) || !require_unix_socket(env, fd)) return NULL;
  int pidfd = -1;
  socklen_t len = sizeof pidfd;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) != 0) {
    if (errno != ENOPROTOOPT && errno != EINVAL) return throw_errno(env, "getsockopt(SO_PEERPIDFD)", errno);
    pidfd = -1;
  } else if (fcntl(pidfd, F_SETFD, FD_CLOEXEC) != 0) {
    int err = errno;
    close(pidfd);
    return throw_errno(env, "fcntl(pidfd, FD_CLOEXEC)", err);
  }
  napi_value result;
  napi_create_int32(env, pidfd, &result);
  return result;
}

// Whether this kernel hands out pidfds for live peers, probed on a socketpair of our own. When it does,
// a later -1 from peerPidfd means the peer is already gone, not that the feature is missing.
static napi_value peer_pidfd_supported(napi_env env, napi_callback_info info) {
  (void)info;
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return throw_errno(env, "socketpair", errno);
  int pidfd = -1;
  socklen_t len = sizeof pidfd;
  int supported = getsockopt(pair[0], SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) == 0;
  if (supported) close(pidfd);
  close(pair[0]);
  close(pair[1]);
  napi_value result;
  napi_get_boolean(env, supported, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor exported[] = {
    {"peerCredentials", NULL, peer_credentials, NULL, NULL, NULL, napi_enumerable, NULL},
    {"peerPidfd", NULL, peer_pidfd, NULL, NULL, NULL, napi_enumerable, NULL},
    {"peerPidfdSupported", NULL, peer_pidfd_supported, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof exported / sizeof exported[0], exported);
  return exports;
}
