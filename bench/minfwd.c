/* The yardstick of bench/dataplane.ts (issue 13): the least an AF_PACKET Direct-Routing forwarder can do. Frames
 * for <VIP> to our MAC are read in batches (recvmmsg), get the real server's MAC as destination and ours as source,
 * and leave the same interface in one sendmmsg. No table, no scheduler, no counters but one. Built by the bench:
 * With "ring" it receives through a TPACKET_V2 ring shaped like directord's former default (1024 slots of 68 KiB,
 * sendmmsg straight out of the slots): the same I/O as directord, so the difference is directord's own work.
 *   cc -O2 -o minfwd bench/minfwd.c;  minfwd IFNAME RS_MAC VIP MAX_SECONDS [ring]  (prints "ready") */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 256
/* A GSO super-frame (client offloads on) plus its virtio-net header must fit one buffer. */
#define BUF_SIZE (65536 + 256)
#define VNET_LEN ((int)sizeof(struct virtio_net_hdr))
#define SLOT_SIZE (17u * 4096)
#define SLOTS 1024

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

static void die(const char *what) {
  fprintf(stderr, "minfwd: %s: %s\n", what, strerror(errno));
  exit(1);
}

static int parse_mac(const char *s, uint8_t m[6]) {
  return sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) == 6 ? 0 : -1;
}

int main(int argc, char **argv) {
  static uint8_t bufs[BATCH][BUF_SIZE];
  static struct mmsghdr rx[BATCH], tx[BATCH];
  static struct iovec riov[BATCH], tiov[BATCH];
  uint8_t me[6], rs[6];
  struct in_addr vip;
  struct ifreq ifr;
  struct sockaddr_ll sll;
  struct sigaction sa;
  unsigned long long forwarded = 0;
  int one = 1, rxs, txs, ifindex, i;
  int ring = argc == 6 && strcmp(argv[5], "ring") == 0, ver = TPACKET_V2;
  uint8_t *slots = NULL;
  if ((argc != 5 && !ring) || parse_mac(argv[2], rs) || inet_pton(AF_INET, argv[3], &vip) != 1 || atoi(argv[4]) <= 0) {
    fprintf(stderr, "usage: minfwd IFNAME RS_MAC VIP MAX_SECONDS [ring]\n");
    return 2;
  }
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;   /* no SA_RESTART: a signal ends the blocking recvmmsg */
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGALRM, &sa, NULL);
  alarm((unsigned)atoi(argv[4]));   /* bounded in seconds even if the bench dies without killing it */

  ifindex = (int)if_nametoindex(argv[1]);
  if (!ifindex) die(argv[1]);
  rxs = socket(AF_PACKET, SOCK_RAW, 0);
  txs = socket(AF_PACKET, SOCK_RAW, 0);
  if (rxs < 0 || txs < 0) die("socket");
  memset(&ifr, 0, sizeof(ifr));
  snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", argv[1]);
  if (ioctl(rxs, SIOCGIFHWADDR, &ifr)) die("SIOCGIFHWADDR");
  memcpy(me, ifr.ifr_hwaddr.sa_data, 6);

  /* ether dst = our MAC, IPv4, ip dst = VIP: everything else (ARP, our own traffic) stays with the kernel. */
  uint32_t mac_hi = (uint32_t)me[0] << 24 | (uint32_t)me[1] << 16 | (uint32_t)me[2] << 8 | me[3];
  uint32_t mac_lo = (uint32_t)me[4] << 8 | me[5];
  struct sock_filter code[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),  BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, mac_hi, 0, 7),
    BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 4),  BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, mac_lo, 0, 5),
    BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12), BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, 0, 3),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 30), BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ntohl(vip.s_addr), 0, 1),
    BPF_STMT(BPF_RET | BPF_K, 0x40000),     BPF_STMT(BPF_RET | BPF_K, 0),
  };
  struct sock_fprog fp = { (unsigned short)(sizeof(code) / sizeof(code[0])), code };
  if (setsockopt(rxs, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof(fp))) die("SO_ATTACH_FILTER");
  /* The same socket options as directord's AF_PACKET loop, so both carry GSO frames and skip the qdisc alike. */
  /* Room for about as many small frames (truesize ~900 B) as the 1024 slots of directord's default ring. */
  int rcvbuf = 1 << 20;
  if (setsockopt(rxs, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf))) die("SO_RCVBUFFORCE");
  if (setsockopt(rxs, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) ||
      setsockopt(rxs, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) ||
      setsockopt(txs, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) ||
      setsockopt(txs, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)))
    die("setsockopt(SOL_PACKET)");
  if (ring) {
    struct tpacket_req req = { SLOT_SIZE, SLOTS, SLOT_SIZE, SLOTS };
    if (setsockopt(rxs, SOL_PACKET, PACKET_VERSION, &ver, sizeof(ver)) ||
        setsockopt(rxs, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)))
      die("PACKET_RX_RING");
    slots = mmap(NULL, (size_t)SLOT_SIZE * SLOTS, PROT_READ | PROT_WRITE, MAP_SHARED, rxs, 0);
    if (slots == MAP_FAILED) die("mmap");
  }
  memset(&sll, 0, sizeof(sll));
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);   /* a tap: sees frames before the netdev ingress drop hides them */
  sll.sll_ifindex = ifindex;
  if (bind(rxs, (struct sockaddr *)&sll, sizeof(sll))) die("bind(rx)");
  sll.sll_protocol = 0;
  if (bind(txs, (struct sockaddr *)&sll, sizeof(sll))) die("bind(tx)");

  for (i = 0; i < BATCH; i++) {
    riov[i].iov_base = bufs[i];
    riov[i].iov_len = BUF_SIZE;
    rx[i].msg_hdr.msg_iov = &riov[i];
    rx[i].msg_hdr.msg_iovlen = 1;
    tx[i].msg_hdr.msg_iov = &tiov[i];
    tx[i].msg_hdr.msg_iovlen = 1;
  }
  printf("ready\n");
  fflush(stdout);
  for (unsigned cur = 0; ring && !stop;) {
    struct tpacket2_hdr *held[BATCH];
    int n = 0, done = 0;
    while (n < BATCH) {
      struct tpacket2_hdr *h = (struct tpacket2_hdr *)(slots + (size_t)((cur + n) % SLOTS) * SLOT_SIZE);
      if (!(__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER)) break;
      uint8_t *f = (uint8_t *)h + h->tp_mac;
      memcpy(f, rs, 6);
      memcpy(f + 6, me, 6);
      tiov[n].iov_base = f - VNET_LEN;
      tiov[n].iov_len = h->tp_snaplen + VNET_LEN;
      held[n++] = h;
    }
    if (!n) {
      struct pollfd pf = { rxs, POLLIN, 0 };
      poll(&pf, 1, 100);
      continue;
    }
    while (done < n) {
      int r = sendmmsg(txs, tx + done, (unsigned)(n - done), 0);
      if (r < 0 && errno == EINTR) continue;
      done += r > 0 ? r : 1;
      if (r > 0) forwarded += (unsigned)r;
    }
    for (i = 0; i < n; i++) __atomic_store_n(&held[i]->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
    cur = (cur + (unsigned)n) % SLOTS;
  }
  while (!ring && !stop) {
    int n = recvmmsg(rxs, rx, BATCH, MSG_WAITFORONE, NULL), out = 0, done = 0;
    if (n < 0) {
      if (errno == EINTR) continue;
      die("recvmmsg");
    }
    for (i = 0; i < n; i++) {
      uint8_t *f = bufs[i] + VNET_LEN;
      if (rx[i].msg_len < (unsigned)VNET_LEN + 14) continue;
      memcpy(f, rs, 6);
      memcpy(f + 6, me, 6);
      tiov[out].iov_base = bufs[i];
      tiov[out].iov_len = rx[i].msg_len;
      out++;
    }
    while (done < out) {
      int r = sendmmsg(txs, tx + done, (unsigned)(out - done), 0);
      if (r < 0 && errno == EINTR) continue;
      done += r > 0 ? r : 1;   /* skip a frame the kernel refused */
      if (r > 0) forwarded += (unsigned)r;
    }
  }
  fprintf(stderr, "minfwd: forwarded %llu frames\n", forwarded);
  return 0;
}
