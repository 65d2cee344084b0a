/* Loader of xdp-other.bpf.o for lab-afxdp-dispatcher.test.ts: attaches it through libxdp (native mode) to IFNAME,
 * prints "attached ID dispatcher" (or "alone" where libxdp had to fall back), then answers each stdin line with the
 * frames it has counted; on EOF detaches and exits. */
#include <stdio.h>
#include <string.h>
#include <net/if.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

int main(int argc, char **argv) {
  struct xdp_program *p;
  char line[64];
  struct xdp_multiprog *mp;
  int ifindex, fd, rc, alone = 1;
  __u32 k = 0;
  if (argc != 3 || !(ifindex = (int)if_nametoindex(argv[1]))) { fprintf(stderr, "usage: xdp-other IFNAME OBJ\n"); return 2; }
  p = xdp_program__open_file(argv[2], NULL, NULL);
  if (libxdp_get_error(p)) { fprintf(stderr, "open %s failed\n", argv[2]); return 1; }
  rc = xdp_program__attach(p, ifindex, XDP_MODE_NATIVE, 0);
  if (rc) { fprintf(stderr, "attach failed: %s\n", strerror(-rc)); return 1; }
  fd = bpf_object__find_map_fd_by_name(xdp_program__bpf_obj(p), "other_seen");
  mp = xdp_multiprog__get_from_ifindex(ifindex);
  if (!libxdp_get_error(mp) && mp) {
    alone = xdp_multiprog__is_legacy(mp);
    xdp_multiprog__close(mp);
  }
  printf("attached %u %s\n", xdp_program__id(p), alone ? "alone" : "dispatcher");
  fflush(stdout);
  while (fgets(line, sizeof(line), stdin)) {
    __u64 v = 0;
    bpf_map_lookup_elem(fd, &k, &v);
    printf("%llu\n", (unsigned long long)v);
    fflush(stdout);
  }
  rc = xdp_program__detach(p, ifindex, XDP_MODE_NATIVE, 0);
  if (rc) fprintf(stderr, "detach failed: %s\n", strerror(-rc));
  xdp_program__close(p);
  return rc ? 1 : 0;
}
