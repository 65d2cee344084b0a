/* Ethernet/IPv4/TCP/UDP/ICMP frame parser: reads only what a DR director needs and classifies every other frame
 * by reason; and the frames the director writes itself, an ICMP port unreachable and a TCP RST. It never reads past `len`
 * (fuzzed by test/dataplane/frame-fuzz.test.ts). */
#include <string.h>
#include "core.h"

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t rd32(const uint8_t *p) { return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3]; }
static inline void wr16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

/* ICMP errors about a VIP flow (ip_vs_in_icmp): the embedded packet is the real server's reply, VIP:vport ->
 * client:cport, as the router saw it. The flow is described the client's way round, so it is looked up like the
 * client's own packets. Other ICMP (echo to the VIP, redirects) is the kernel's. */
static int parse_icmp(const uint8_t *l4, uint32_t l4len, struct dd_pkt *p) {
  const uint8_t *e;
  uint32_t eihl, elen;
  if (l4len < 8) return DD_V_TRUNCATED;
  if (l4[0] != 3 && l4[0] != 4 && l4[0] != 11) return DD_V_NO_SERVICE;   /* unreachable, source quench, time exceeded */
  e = l4 + 8;
  elen = l4len - 8;
  if (elen < 20) return DD_V_TRUNCATED;
  if ((e[0] >> 4) != 4) return DD_V_BAD_IHL;
  eihl = (uint32_t)(e[0] & 15) * 4;
  if (eihl < 20) return DD_V_BAD_IHL;
  if (elen < eihl + 8) return DD_V_TRUNCATED;   /* RFC 792: the header + 64 bits, i.e. both ports */
  if (rd16(e + 6) & 0x1fff) return DD_V_FRAGMENT;   /* about a later fragment: no ports to find the flow by */
  if (e[9] != 6 && e[9] != 17) return DD_V_NO_SERVICE;
  p->proto = e[9];
  p->saddr = rd32(e + 16);
  p->daddr = rd32(e + 12);
  p->sport = rd16(e + eihl + 2);
  p->dport = rd16(e + eihl);
  p->pflags = DD_PF_ICMP;
  return DD_V_FORWARD;
}

/* The Ethernet header: 14 bytes, or 18 with one inline 802.1Q tag. A frame belongs to VLAN `vlan` when its one
 * 802.1Q tag (inline, or taken out by the receive path into `meta`) says so, or it has none and vlan is 0. Two tags
 * (QinQ), an 802.1ad outer tag, another VLAN or a missing tag: DD_V_VLAN, checked before the ethertype. */
static int parse_l2(const uint8_t *f, uint32_t len, uint16_t vlan, int32_t meta, uint32_t *l2) {
  uint16_t et;
  int32_t vid = meta >= 0 ? (meta & 0xfff) : -1;
  if (meta == DD_TAG_OTHER) return DD_V_VLAN;
  if (len < 14) return DD_V_TRUNCATED;
  et = rd16(f + 12);
  *l2 = 14;
  if (et == 0x8100) {
    if (vid >= 0) return DD_V_VLAN;   /* a second tag inside the stripped one */
    if (len < 18) return DD_V_TRUNCATED;
    vid = rd16(f + 14) & 0xfff;
    et = rd16(f + 16);
    *l2 = 18;
  }
  if (et == 0x8100 || et == 0x88a8 || et == 0x9100) return DD_V_VLAN;
  if ((vid < 0 ? 0 : vid) != vlan) return DD_V_VLAN;
  if (et != 0x0800) return DD_V_NOT_IPV4;
  return DD_V_FORWARD;
}

int dd_parse_frame(const uint8_t *f, uint32_t len, struct dd_pkt *p) {
  return dd_parse_frame_vlan(f, len, 0, DD_TAG_NONE, p);
}

int dd_parse_frame_vlan(const uint8_t *f, uint32_t len, uint16_t vlan, int32_t meta, struct dd_pkt *p) {
  const uint8_t *ip, *l4;
  uint32_t ihl, tot, l4len, l2 = 14;
  uint16_t frag;
  int v = parse_l2(f, len, vlan, meta, &l2);
  if (v != DD_V_FORWARD) return v;
  if (len < l2 + 20) return DD_V_TRUNCATED;
  ip = f + l2;
  if ((ip[0] >> 4) != 4) return DD_V_BAD_IHL;
  ihl = (uint32_t)(ip[0] & 15) * 4;
  if (ihl < 20) return DD_V_BAD_IHL;
  tot = rd16(ip + 2);
  if (tot < ihl) return DD_V_BAD_IHL;
  /* GRO/GSO super-frames carry a total length of 0 or of one segment; the vnet header says which. */
  if (tot > len - l2) return DD_V_TRUNCATED;
  frag = rd16(ip + 6);
  p->proto = ip[9];
  p->saddr = rd32(ip + 12);
  p->daddr = rd32(ip + 16);
  p->iplen = tot;
  p->tcpflags = 0;
  p->pflags = 0;
  p->ipid = rd16(ip + 4);
  p->l2 = (uint8_t)l2;
  if (frag & 0x1fff) {   /* a later fragment: matched to its first one by (saddr, daddr, id, proto) */
    if (p->proto != 6 && p->proto != 17) return DD_V_NO_SERVICE;
    p->sport = p->dport = 0;
    p->pflags = DD_PF_FRAG_LATER;
    return DD_V_FORWARD;
  }
  if (frag & 0x2000) p->pflags = DD_PF_FRAG_FIRST;
  l4 = ip + ihl;
  l4len = tot - ihl;
  if (p->proto == 6) {
    if (l4len < 20) return DD_V_TRUNCATED;
    if ((l4[12] >> 4) < 5 || (uint32_t)(l4[12] >> 4) * 4 > l4len) return DD_V_BAD_IHL;
    p->tcpflags = l4[13];
  } else if (p->proto == 17) {
    if (l4len < 8) return DD_V_TRUNCATED;
  } else {
    p->sport = p->dport = 0;
    if (p->proto == 1 && !(frag & 0x2000)) return parse_icmp(l4, l4len, p);
    return DD_V_NO_SERVICE;
  }
  p->sport = rd16(l4);
  p->dport = rd16(l4 + 2);
  return DD_V_FORWARD;
}

static uint32_t sum16(const uint8_t *b, uint32_t n, uint32_t s) {
  uint32_t i;
  for (i = 0; i + 1 < n; i += 2) s += rd16(b + i);
  if (n & 1) s += (uint32_t)b[n - 1] << 8;
  return s;
}

static uint16_t fold(uint32_t s) {
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return (uint16_t)~s;
}

static uint16_t csum(const uint8_t *b, uint32_t n) { return fold(sum16(b, n, 0)); }

static inline void wr32(uint8_t *p, uint32_t v) { wr16(p, v >> 16); wr16(p + 2, v); }

/* Ethernet (back to the frame's sender, on our VLAN if any) and an IPv4 header from the VIP to the frame's source. */
static uint8_t *reply_headers(struct dd_table *t, const uint8_t *f, const uint8_t *ip, const uint8_t ourmac[6],
                              uint8_t *out, uint8_t proto, uint8_t tos, uint32_t iplen) {
  uint32_t tag = t->vlan ? 4 : 0;
  uint8_t *o = out + 14 + tag;
  memcpy(out, f + 6, 6);
  memcpy(out + 6, ourmac, 6);
  if (tag) {   /* back on the VLAN the frame came from */
    wr16(out + 12, 0x8100);
    wr16(out + 14, t->vlan);
  }
  wr16(out + 12 + tag, 0x0800);
  memset(o, 0, 20);
  o[0] = 0x45;
  o[1] = tos;
  wr16(o + 2, iplen);
  wr16(o + 4, t->icmp_ipid++);
  o[8] = 64;
  o[9] = proto;
  memcpy(o + 12, ip + 16, 4);   /* from the VIP */
  memcpy(o + 16, ip + 12, 4);
  wr16(o + 10, csum(o, 20));
  return o + 20;
}

/* For a DD_V_DEST_CLOSED frame (parsed TCP, so its headers are in bounds): the RST the director's own stack would
 * send for a segment of no connection (RFC 793 "Reset Generation", as tcp_v4_send_reset): from VIP:port to the
 * client; with the segment's ACK, seq = its ack number (the client's rcv_nxt, which it accepts); without, seq 0
 * and RST|ACK acking the segment. Returns its length, 0 for a segment that is itself a RST or from a source that
 * cannot have sent it. */
uint32_t dd_tcp_reset(struct dd_table *t, const uint8_t *f, uint32_t l2, const uint8_t ourmac[6], uint8_t *out) {
  const uint8_t *ip = f + l2, *th;
  uint32_t ihl = (uint32_t)(ip[0] & 15) * 4, saddr = rd32(ip + 12), tag = t->vlan ? 4 : 0, seglen, s;
  uint8_t *tc, ph[12];
  th = ip + ihl;
  if ((th[13] & DD_TH_RST) || (saddr >> 24) == 0 || saddr >= 0xe0000000u) return 0;
  seglen = rd16(ip + 2) - ihl - (uint32_t)(th[12] >> 4) * 4 + ((th[13] & DD_TH_SYN) ? 1 : 0) + ((th[13] & DD_TH_FIN) ? 1 : 0);
  tc = reply_headers(t, f, ip, ourmac, out, 6, 0, 40);
  memset(tc, 0, 20);
  memcpy(tc, th + 2, 2);        /* from the VIP's port */
  memcpy(tc + 2, th, 2);
  if (th[13] & DD_TH_ACK) {
    memcpy(tc + 4, th + 8, 4);
    tc[13] = DD_TH_RST;
  } else {
    wr32(tc + 8, rd32(th + 4) + seglen);
    tc[13] = DD_TH_RST | DD_TH_ACK;
  }
  tc[12] = 5 << 4;
  memcpy(ph, ip + 16, 4);       /* pseudo header: the reply's source (VIP), destination, 0, 6, TCP length */
  memcpy(ph + 4, ip + 12, 4);
  ph[8] = 0; ph[9] = 6;
  wr16(ph + 10, 20);
  s = sum16(ph, 12, 0);
  wr16(tc + 16, fold(sum16(tc, 20, s)));
  t->counters[DD_C_RESETS_SENT]++;
  return 14 + tag + 40;
}

/* ip_vs_leave's icmp_send(ICMP_DEST_UNREACH, ICMP_PORT_UNREACH): from the VIP, back through the frame's sender. */
uint32_t dd_icmp_unreach(struct dd_table *t, const uint8_t *f, uint32_t l2, const uint8_t ourmac[6], int64_t now, uint8_t *out) {
  const uint8_t *ip = f + l2;
  uint32_t tag = t->vlan ? 4 : 0, ihl = (uint32_t)(ip[0] & 15) * 4, saddr = rd32(ip + 12), len = 14 + tag + 20 + 8 + ihl + 8;
  uint8_t *ic;
  /* Never to a source that cannot have sent it (0/8, multicast, broadcast), as icmp_send refuses. */
  if ((saddr >> 24) == 0 || saddr >= 0xe0000000u) return 0;
  if (!t->icmp_started) {
    t->icmp_started = 1;
    t->icmp_tokens = DD_ICMP_BURST;
    t->icmp_refill_ms = now;
  } else if (now > t->icmp_refill_ms) {
    uint64_t add = (uint64_t)(now - t->icmp_refill_ms) * DD_ICMP_RATE_PER_S / 1000;
    t->icmp_tokens = add + t->icmp_tokens >= DD_ICMP_BURST ? DD_ICMP_BURST : t->icmp_tokens + (uint32_t)add;
    t->icmp_refill_ms = now;
  }
  if (!t->icmp_tokens) { t->counters[DD_C_ICMP_UNREACH_LIMITED]++; return 0; }
  t->icmp_tokens--;
  ic = reply_headers(t, f, ip, ourmac, out, 1, 0xc0, len - 14 - tag);   /* 0xc0: IPTOS_PREC_INTERNETCONTROL */
  memset(ic, 0, 8);
  ic[0] = 3;
  ic[1] = 3;
  memcpy(ic + 8, ip, ihl + 8);
  wr16(ic + 2, csum(ic, 8 + ihl + 8));
  t->counters[DD_C_ICMP_UNREACH_SENT]++;
  return len;
}
