/* Frame generation and mutation for the frame fuzz: a seeded splitmix64, the byte layout of a frame from a spec
 * (VLAN tags, IP and TCP options, fragments, lengths that lie) and of an ICMP error quoting one, and random specs. */
#include <string.h>
#include "frame-fuzz.h"

uint64_t rng;
uint64_t next64(void) { /* splitmix64 */
  uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
uint32_t rnd(uint32_t n) { return n ? (uint32_t)(next64() % n) : 0; }

struct spec base(void) {
  struct spec s = { 0, 0x0800, 4, -1, 0, 6, DD_TH_SYN, -1, 0, 0x4000, 40000, 80, 0x0a3d0101, VIP, 0, 0, 0 };
  return s;
}

void wr16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
void wr32(uint8_t *p, uint32_t v) { wr16(p, v >> 16); wr16(p + 2, v & 0xffff); }
uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* Lays the frame out in f (MAXF bytes); returns its length. l3 receives the IP header's offset, totp its length. */
uint32_t build(const struct spec *s, uint8_t *f, uint32_t *l3, uint32_t *totp) {
  uint32_t o = 12, ihl = s->ihl >= 0 ? (uint32_t)s->ihl : (uint32_t)(5 + s->opt_words), hb = (5 + s->opt_words) * 4, l4h, tot, len;
  memset(f, 0, MAXF);
  memcpy(f, DEST_MAC[0], 6); /* the director's own MAC as the switch delivers it; rewritten when forwarded */
  memcpy(f + 6, "\x02\x61\x00\x00\x09\x09", 6);
  if (s->vlan == 3) { wr16(f + 12, 0x88a8); wr16(f + 14, 7); o = 16; }
  if (s->vlan) { wr16(f + o, s->vlan == 2 ? 0x88a8 : 0x8100); wr16(f + o + 2, s->tci ? (uint32_t)s->tci : 5); o += 4; }
  wr16(f + o, s->ethertype);
  o += 2;
  l4h = s->proto == 6 ? 20 + s->tcp_opt_words * 4 : 8;
  tot = s->tot ? (uint32_t)s->tot : hb + l4h + (uint32_t)s->payload;
  f[o] = (uint8_t)(s->version << 4 | (ihl & 15));
  wr16(f + o + 2, tot);
  wr16(f + o + 6, s->frag);
  f[o + 8] = 64;
  f[o + 9] = s->proto;
  wr32(f + o + 12, s->saddr);
  wr32(f + o + 16, s->daddr);
  for (int i = 0; i < s->opt_words * 4; i++) f[o + 20 + i] = 1; /* NOP options */
  wr16(f + o + hb, s->sport);
  wr16(f + o + hb + 2, s->dport);
  if (s->proto == 6) {
    f[o + hb + 12] = (uint8_t)((s->doff >= 0 ? s->doff : 5 + s->tcp_opt_words) << 4);
    f[o + hb + 13] = s->flags;
  } else wr16(f + o + hb + 4, l4h + (uint32_t)s->payload);
  len = o + hb + l4h + (uint32_t)s->payload;
  if (s->pad_to && len < (uint32_t)s->pad_to) len = (uint32_t)s->pad_to;
  *l3 = o;
  *totp = tot;
  return len;
}

struct icmp_spec icmp_base(void) {
  struct icmp_spec c = { 3, 4, base(), 0 };
  c.in.saddr = VIP; c.in.daddr = 0x0a3d0101; c.in.sport = 80; c.in.dport = 40000; c.in.flags = DD_TH_ACK;
  return c;
}

uint32_t build_icmp(const struct icmp_spec *c, uint8_t *f, uint32_t *totp) {
  uint8_t inner[MAXF];
  uint32_t l3, itot, ilen = build(&c->in, inner, &l3, &itot), ihl = (5 + c->in.opt_words) * 4;
  uint32_t keep = ilen - l3;   /* the embedded IP header + 8 bytes of L4 + extra, as much as was built */
  if (keep > ihl + 8 + (uint32_t)c->extra) keep = ihl + 8 + (uint32_t)c->extra;
  memset(f, 0, MAXF);
  memcpy(f, DEST_MAC[0], 6);
  memcpy(f + 6, "\x02\x61\x00\x00\x09\x01", 6);
  wr16(f + 12, 0x0800);
  f[14] = 0x45;
  wr16(f + 16, 20 + 8 + keep);
  f[22] = 64;
  f[23] = 1;
  wr32(f + 26, 0x0a3d0001);
  wr32(f + 30, VIP);
  f[34] = c->type;
  f[35] = c->code;
  memcpy(f + 42, inner + l3, keep);
  *totp = 20 + 8 + keep;
  return 14 + 20 + 8 + keep;
}

void random_spec(struct spec *s) {
  *s = base();
  s->saddr = 0x0a3d0000 | rnd(4096);
  s->sport = (uint16_t)(1024 + rnd(64));
  s->daddr = rnd(8) ? VIP : next64();
  s->dport = rnd(4) ? (uint16_t)(rnd(2) ? 80 : 53) : (uint16_t)rnd(65536);
  s->proto = rnd(6) ? (uint8_t)(rnd(2) ? 6 : 17) : (uint8_t)rnd(256);
  s->flags = (uint8_t)(rnd(3) ? (1u << rnd(5)) : rnd(256));
  s->opt_words = rnd(4) ? 0 : (int)rnd(11);
  s->tcp_opt_words = rnd(4) ? 0 : (int)rnd(11);
  s->payload = rnd(3) ? (int)rnd(64) : (int)rnd(1400);
  s->vlan = rnd(8) ? 0 : 1 + (int)rnd(3);
  if (s->vlan && rnd(2)) s->tci = (int)(rnd(2) ? 5 | rnd(8) << 13 : rnd(65536));
  if (!rnd(16)) s->frag = (uint16_t)rnd(65536);
  if (!rnd(16)) s->ihl = (int)rnd(16);
  if (!rnd(16)) s->doff = (int)rnd(16);
  if (!rnd(16)) s->tot = (int)rnd(1600);
  if (!rnd(8)) s->pad_to = 60;
}
