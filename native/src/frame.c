/* Ethernet/IPv4/TCP/UDP frame parser: reads only what a DR director needs and classifies every other frame
 * by reason. It never reads past `len` (fuzzed by test/dataplane/frame-fuzz.test.ts). */
#include "core.h"

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t rd32(const uint8_t *p) { return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3]; }

int dd_parse_frame(const uint8_t *f, uint32_t len, struct dd_pkt *p) {
  const uint8_t *ip, *l4;
  uint32_t ihl, tot, l4len;
  uint16_t et, frag;
  if (len < 14) return DD_V_TRUNCATED;
  et = rd16(f + 12);
  if (et == 0x8100 || et == 0x88a8) return DD_V_VLAN;
  if (et != 0x0800) return DD_V_NOT_IPV4;
  if (len < 34) return DD_V_TRUNCATED;
  ip = f + 14;
  if ((ip[0] >> 4) != 4) return DD_V_BAD_IHL;
  ihl = (uint32_t)(ip[0] & 15) * 4;
  if (ihl < 20) return DD_V_BAD_IHL;
  tot = rd16(ip + 2);
  if (tot < ihl) return DD_V_BAD_IHL;
  /* GRO/GSO super-frames carry a total length of 0 or of one segment; the vnet header says which. */
  if (tot > len - 14) return DD_V_TRUNCATED;
  frag = rd16(ip + 6);
  p->proto = ip[9];
  p->saddr = rd32(ip + 12);
  p->daddr = rd32(ip + 16);
  p->iplen = tot;
  p->tcpflags = 0;
  if (frag & 0x3fff) return DD_V_FRAGMENT;   /* MF set or offset != 0 */
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
    return DD_V_NO_SERVICE;
  }
  p->sport = rd16(l4);
  p->dport = rd16(l4 + 2);
  return DD_V_FORWARD;
}
