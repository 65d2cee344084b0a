/* The AF_PACKET capture filter: the libpcap expression of src/dataplane/validate.ts compiled to classic BPF, behind
 * a VLAN-tag prefix when the data plane serves a VLAN, attached to one RX socket. */
#include <errno.h>
#include <linux/filter.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "afpacket.h"

/* libpcap compiles `filter` for the untagged frame. On a VLAN, a prefix first requires a tag in the skb's metadata
 * (BPF ancillary load: by the taps the receive path has always taken the outer tag out of the frame); which VLAN
 * and TPID is dd_parse_frame's to say, so a frame of another VLAN or a QinQ frame is counted `vlan` rather than
 * never seen. libpcap's own `vlan N` would test the tag inline only here: pcap_open_dead does not know it will run
 * on a Linux socket (BPF_SPECIAL_VLAN_HANDLING is set by a live capture only). */
int dd_attach_capture_filter(int sock, uint16_t vlan, const char *filter, char *err, size_t errlen) {
  static const struct sock_filter tagged[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_VLAN_TAG_PRESENT),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, 0),
  };
  const unsigned np = sizeof(tagged) / sizeof(tagged[0]);
  struct sock_filter *code = NULL;
  struct bpf_program prog;
  struct sock_fprog fp;
  pcap_t *p = pcap_open_dead(DLT_EN10MB, 262144);
  int rc, pre = vlan ? 1 : 0;
  if (!p) { snprintf(err, errlen, "pcap_open_dead failed"); return -1; }
  if (pcap_compile(p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
    snprintf(err, errlen, "bad filter: %s", pcap_geterr(p));
    pcap_close(p);
    return -1;
  }
  fp.len = (unsigned short)prog.bf_len;
  fp.filter = (struct sock_filter *)prog.bf_insns;
  if (pre) {
    code = malloc((prog.bf_len + np) * sizeof(*code));
    if (!code || prog.bf_len + np > BPF_MAXINSNS) {
      snprintf(err, errlen, "filter too long");
      free(code);
      pcap_freecode(&prog);
      pcap_close(p);
      return -1;
    }
    memcpy(code, tagged, sizeof(tagged));
    memcpy(code + np, prog.bf_insns, prog.bf_len * sizeof(*code));
    fp.len = (unsigned short)(prog.bf_len + np);
    fp.filter = code;
  }
  rc = setsockopt(sock, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof(fp));
  free(code);
  pcap_freecode(&prog);
  pcap_close(p);
  if (rc != 0) { snprintf(err, errlen, "SO_ATTACH_FILTER: %s", strerror(errno)); return -1; }
  return 0;
}
