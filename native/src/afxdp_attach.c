/* The AF_XDP backend's XDP program on the interface, through libxdp: attached as one program of libxdp's dispatcher
 * (another XDP program can run beside it, and detaching removes ours only), alone where the kernel or a missing
 * bpffs rules the dispatcher out (libxdp falls back by itself); native mode, else generic. Its maps: sockets by RX
 * queue, services, config. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "afxdp_int.h"
#include "xdp_abi.h"

#define PROG_NAME "directord_xdp"
#define FRAME_SIZE 4096u

/* libbpf's own codes (e.g. LIBBPF_ERRNO__FORMAT for a file that is not a BPF ELF object) have no strerror text. */
static int failb(char *err, size_t errlen, const char *what, int code) {
  char msg[256];
  if (libbpf_strerror(code < 0 ? code : -code, msg, sizeof(msg))) snprintf(msg, sizeof(msg), "error %d", code);
  snprintf(err, errlen, "%s: %s", what, msg);
  return -1;
}

static int failx(char *err, size_t errlen, const char *what, int code) {
  char msg[256];
  if (libxdp_strerror(code < 0 ? code : -code, msg, sizeof(msg))) snprintf(msg, sizeof(msg), "%s", strerror(code < 0 ? -code : code));
  snprintf(err, errlen, "%s: %s", what, msg);
  return -1;
}

/* 0 when it cannot be read (the caller then uses the umem frame size). */
static uint32_t interface_mtu(const char *ifname) {
  struct ifreq ifr;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc;
  if (fd < 0) return 0;
  memset(&ifr, 0, sizeof(ifr));
  snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
  rc = ioctl(fd, SIOCGIFMTU, &ifr);
  close(fd);
  return rc ? 0 : (uint32_t)ifr.ifr_mtu;
}

static int quiet(enum libxdp_print_level level, const char *fmt, va_list args) { (void)level; (void)fmt; (void)args; return 0; }

/* Opens the object and checks it is ours, built from this xdp_abi.h. */
static int open_object(struct dd_xdp *x, const char *objpath, char *err, size_t errlen) {
  struct bpf_map *keys;
  long rc;
  x->obj = bpf_object__open_file(objpath, NULL);
  rc = libbpf_get_error(x->obj);
  if (rc || !x->obj) { x->obj = NULL; return failb(err, errlen, "open XDP object", rc ? (int)rc : -errno); }
  keys = bpf_object__find_map_by_name(x->obj, "dd_services");
  if (!bpf_object__find_program_by_name(x->obj, PROG_NAME) || !keys || !bpf_object__find_map_by_name(x->obj, "dd_xsks") ||
      !bpf_object__find_map_by_name(x->obj, "dd_config")) {
    snprintf(err, errlen, "%s is not directord's XDP object (program or maps missing)", objpath);
    return -1;
  }
  /* The object on disk and this addon must share native/include/xdp_abi.h (a stale build would misread keys). */
  if (bpf_map__key_size(keys) != sizeof(struct dd_xdp_key)) {
    snprintf(err, errlen, "%s: service key is %u bytes, this addon's struct dd_xdp_key %zu (rebuild: npm run build:native)",
             objpath, bpf_map__key_size(keys), sizeof(struct dd_xdp_key));
    return -1;
  }
  return 0;
}

/* Through libxdp: 0 attached (x->dispatcher says how), -1 not (the object is then spent: reopen it). */
static int attach_libxdp(struct dd_xdp *x, int skb_mode) {
  DECLARE_LIBXDP_OPTS(xdp_program_opts, opts, .obj = x->obj, .prog_name = PROG_NAME);
  LIBBPF_OPTS(bpf_xdp_query_opts, q);
  long rc;
  x->prog = xdp_program__create(&opts);
  if (libxdp_get_error(x->prog) || !x->prog) { x->prog = NULL; return -1; }
  x->mode = skb_mode ? XDP_MODE_SKB : XDP_MODE_NATIVE;
  rc = xdp_program__attach(x->prog, x->ifindex, x->mode, 0);
  if (rc && !skb_mode) rc = xdp_program__attach(x->prog, x->ifindex, x->mode = XDP_MODE_SKB, 0);
  if (rc) { xdp_program__close(x->prog); x->prog = NULL; return -1; }
  x->prog_fd = xdp_program__fd(x->prog);
  /* Alone when the interface runs our program itself (asked over netlink: reading the dispatcher back through
   * libxdp takes CAP_SYS_ADMIN, which the unit does not grant). */
  if (!bpf_xdp_query(x->ifindex, 0, &q)) x->dispatcher = (x->mode == XDP_MODE_NATIVE ? q.drv_prog_id : q.skb_prog_id) != xdp_program__id(x->prog);
  return 0;
}

/* Without libxdp: our program alone, native mode else generic, never replacing another. */
static int attach_alone(struct dd_xdp *x, int skb_mode, char *err, size_t errlen) {
  int rc = bpf_object__load(x->obj);
  if (rc) return failb(err, errlen, "load XDP program", rc);
  x->prog_fd = bpf_program__fd(bpf_object__find_program_by_name(x->obj, PROG_NAME));
  x->mode = XDP_MODE_NATIVE;
  rc = skb_mode ? -1 : bpf_xdp_attach(x->ifindex, x->prog_fd, XDP_FLAGS_UPDATE_IF_NOEXIST | XDP_FLAGS_DRV_MODE, NULL);
  if (rc) {
    x->mode = XDP_MODE_SKB;
    rc = bpf_xdp_attach(x->ifindex, x->prog_fd, XDP_FLAGS_UPDATE_IF_NOEXIST | XDP_FLAGS_SKB_MODE, NULL);
    if (rc) return dd_xdp_fail(err, errlen, "attach XDP program", rc);
  }
  return 0;
}

int dd_xdp_load(struct dd_xdp *x, const char *ifname, const char *objpath, int skb_mode, char *err, size_t errlen) {
  (void)ifname;
  libbpf_set_print(NULL);
  libxdp_set_print(quiet);
  if (open_object(x, objpath, err, errlen)) return -1;
  if (attach_libxdp(x, skb_mode)) {
    /* libxdp failed where a plain attach may not (e.g. it could not pin its dispatcher in a bpffs this user may not
     * write): the object may be half-loaded by then, so start over with a fresh one. */
    bpf_object__close(x->obj);
    x->obj = NULL;
    if (open_object(x, objpath, err, errlen) || attach_alone(x, skb_mode, err, errlen)) return -1;
  }
  x->attached = 1;
  x->services_fd = bpf_object__find_map_fd_by_name(x->obj, "dd_services");
  x->xsks_fd = bpf_object__find_map_fd_by_name(x->obj, "dd_xsks");
  x->cfg_fd = bpf_object__find_map_fd_by_name(x->obj, "dd_config");
  if (x->services_fd < 0 || x->xsks_fd < 0 || x->cfg_fd < 0) { snprintf(err, errlen, "XDP maps not created"); return -1; }
  return 0;
}

int dd_xdp_arm(struct dd_xdp *x, const char *ifname, char *err, size_t errlen) {
  uint64_t cfg = 0, vlan = x->t->vlan;   /* [1]: the VLAN id served, 0 for untagged */
  uint32_t zero = 0, one = 1, i;
  uint8_t *c = (uint8_t *)&cfg;
  /* The socket takes frames up to the MTU (and what fits a umem frame behind XDP's headroom); longer ones are GSO
   * frames for the AF_PACKET path. The config value is bytes: MAC, then that length big-endian. */
  uint32_t maxlen = interface_mtu(ifname) + 14;
  int rc;
  if (maxlen > FRAME_SIZE - XDP_PACKET_HEADROOM || maxlen == 14) maxlen = FRAME_SIZE - XDP_PACKET_HEADROOM;
  for (i = 0; i < x->nqueues; i++) {
    int fd = xsk_socket__fd(x->queues[i].xsk);
    if ((rc = bpf_map_update_elem(x->xsks_fd, &x->queues[i].id, &fd, BPF_ANY))) return dd_xdp_fail(err, errlen, "dd_xsks", rc);
  }
  if ((rc = bpf_map_update_elem(x->cfg_fd, &one, &vlan, BPF_ANY))) return dd_xdp_fail(err, errlen, "dd_config[1]", rc);
  memcpy(c, x->mac, 6);
  c[6] = (uint8_t)(maxlen >> 8);
  c[7] = (uint8_t)maxlen;
  /* Last: until our MAC is in [0] the program passes every frame up. */
  if ((rc = bpf_map_update_elem(x->cfg_fd, &zero, &cfg, BPF_ANY))) return dd_xdp_fail(err, errlen, "dd_config", rc);
  return 0;
}

void dd_xdp_unload(struct dd_xdp *x) {
  if (x->attached && x->dispatcher) xdp_program__detach(x->prog, x->ifindex, x->mode, 0);
  else if (x->attached) {
    /* Alone: detach only if it is still ours (needs no CAP_SYS_ADMIN, unlike libxdp's read-back of the interface). */
    LIBBPF_OPTS(bpf_xdp_attach_opts, o, .old_prog_fd = x->prog_fd);
    bpf_xdp_detach(x->ifindex, XDP_FLAGS_REPLACE | (x->mode == XDP_MODE_NATIVE ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE), &o);
  }
  x->attached = 0;
  if (x->prog) xdp_program__close(x->prog);
  x->prog = NULL;
  if (x->obj) bpf_object__close(x->obj);
  x->obj = NULL;
}

/* Ours by name: in the dispatcher, the other programs are left alone; a foreign program attached alone (legacy)
 * leaves no room for ours, so that is an error. */
int dd_xdp_remove_stale(const char *ifname, char *err, size_t errlen) {
  int ifindex = (int)if_nametoindex(ifname), removed = 0, rc;
  struct xdp_multiprog *mp;
  struct xdp_program *p = NULL, *ours[64];
  size_t n = 0, i;
  long e;
  if (!ifindex) return dd_xdp_fail(err, errlen, ifname, errno);
  libxdp_set_print(quiet);
  mp = xdp_multiprog__get_from_ifindex(ifindex);
  e = libxdp_get_error(mp);
  if (e == -ENOENT || (!e && !mp)) return 0;
  if (e) return failx(err, errlen, "XDP programs on the interface", (int)e);
  if (xdp_multiprog__hw_prog(mp)) {
    snprintf(err, errlen, "%s has an offloaded XDP program (id %u)", ifname, xdp_program__id(xdp_multiprog__hw_prog(mp)));
    xdp_multiprog__close(mp);
    return -1;
  }
  if (xdp_multiprog__is_legacy(mp)) {
    struct xdp_program *main = xdp_multiprog__main_prog(mp);
    if (!main) { xdp_multiprog__close(mp); return 0; }
    if (strcmp(xdp_program__name(main), PROG_NAME) != 0) {
      snprintf(err, errlen, "%s already has another XDP program attached without libxdp's dispatcher (%s, id %u)", ifname,
               xdp_program__name(main), xdp_program__id(main));
      xdp_multiprog__close(mp);
      return -1;
    }
    rc = xdp_multiprog__detach(mp);
    xdp_multiprog__close(mp);
    return rc ? failx(err, errlen, "detach stale program", rc) : 1;
  }
  while ((p = xdp_multiprog__next_prog(p, mp)) && n < 64)
    if (strcmp(xdp_program__name(p), PROG_NAME) == 0) ours[n++] = p;
  for (i = 0; i < n; i++) {
    rc = xdp_program__detach(ours[i], ifindex, xdp_multiprog__attach_mode(mp), 0);
    if (rc) { xdp_multiprog__close(mp); return failx(err, errlen, "detach stale program", rc); }
    removed = 1;
  }
  xdp_multiprog__close(mp);
  return removed;
}
