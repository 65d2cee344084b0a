/* Frame fuzz of the C data plane under ASan/UBSan, run by frame-fuzz.test.ts: every frame is an exactly-sized heap
 * allocation, so a read one byte past its end aborts. Structured cases (truncations at every length, bad IHL, IP
 * options, fragments, VLAN tags inline or in metadata, QinQ, TCP data offsets) check the verdict the construction implies; seeded random
 * mutations check the invariants. Both go through dd_parse_frame and through dd_forward_frame (parse, dd_process,
 * MAC rewrite) as the packet loops call it, after their prefetch pass (dd_hint_frame) over the same bytes. ICMP errors (with their embedded header) and fragments are built and
 * mutated too. Usage: frame-fuzz SEED ITERATIONS MAX_SECONDS */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core.h"
#include "forward.h"

#define MAXF 1600
static const uint8_t OUR_MAC[6] = { 2, 0x61, 0, 0, 1, 1 };
static const uint8_t DEST_MAC[2][6] = { { 2, 0x61, 0, 0, 0, 0x11 }, { 2, 0x61, 0, 0, 0, 0x12 } };
static const uint32_t VIP = 0x0a3d0064; /* 10.61.0.100 */

static unsigned long long seed, where_case;
static const char *where_phase = "setup";
static struct dd_table *tab;
static int64_t now_ms = 1000000;
static unsigned long long seen[DD_V_COUNT], forwarded, checks;

/* Called by ASan before its report: the report then says how to reproduce. */
void __asan_on_error(void) {
  fprintf(stderr, "frame-fuzz: memory error in phase %s, case %llu; reproduce with seed %llu\n", where_phase, where_case, seed);
}

#define CHECK(cond, ...)                                                                                              \
  do {                                                                                                                \
    checks++;                                                                                                         \
    if (!(cond)) {                                                                                                    \
      fprintf(stderr, "frame-fuzz: FAIL in phase %s, case %llu (seed %llu): ", where_phase, where_case, seed);        \
      fprintf(stderr, __VA_ARGS__);                                                                                   \
      fputc('\n', stderr);                                                                                            \
      exit(1);                                                                                                        \
    }                                                                                                                 \
  } while (0)

static uint64_t rng;
static uint64_t next64(void) { /* splitmix64 */
  uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
static uint32_t rnd(uint32_t n) { return n ? (uint32_t)(next64() % n) : 0; }

struct spec {
  int vlan;            /* an 802.1Q (1) or 802.1ad (2) tag, or both (3: QinQ), before the ethertype */
  uint16_t ethertype;
  uint8_t version;
  int ihl;             /* -1 = 5 + opt_words */
  int opt_words;
  uint8_t proto, flags;
  int doff;            /* -1 = 5 + tcp_opt_words */
  int tcp_opt_words;
  uint16_t frag, sport, dport;
  uint32_t saddr, daddr;
  int payload, pad_to, tot; /* tot 0 = the true length */
  int tci;             /* of the 802.1Q tag; 0 = VLAN 5 */
};

static struct spec base(void) {
  struct spec s = { 0, 0x0800, 4, -1, 0, 6, DD_TH_SYN, -1, 0, 0x4000, 40000, 80, 0x0a3d0101, VIP, 0, 0, 0 };
  return s;
}

static void wr16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void wr32(uint8_t *p, uint32_t v) { wr16(p, v >> 16); wr16(p + 2, v & 0xffff); }
static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* Lays the frame out in f (MAXF bytes); returns its length. l3 receives the IP header's offset, totp its length. */
static uint32_t build(const struct spec *s, uint8_t *f, uint32_t *l3, uint32_t *totp) {
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

/* An ICMP error from a router (10.61.0.1) to the VIP about the real server's reply VIP:vport -> client:cport.
 * `in` describes that embedded packet (saddr = VIP); extra = bytes of it after the first 8 of its L4 header. */
struct icmp_spec {
  uint8_t type, code;
  struct spec in;
  int extra;
};

static struct icmp_spec icmp_base(void) {
  struct icmp_spec c = { 3, 4, base(), 0 };
  c.in.saddr = VIP; c.in.daddr = 0x0a3d0101; c.in.sport = 80; c.in.dport = 40000; c.in.flags = DD_TH_ACK;
  return c;
}

static uint32_t build_icmp(const struct icmp_spec *c, uint8_t *f, uint32_t *totp) {
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

/* An exactly-sized copy: malloc(len) with nothing addressable after it. */
static uint8_t *exact(const uint8_t *f, uint32_t len) {
  uint8_t *b = malloc(len ? len : 1);
  if (!b) abort();
  memcpy(b, f, len);
  return b;
}

static int parse(const uint8_t *f, uint32_t len, struct dd_pkt *p) {
  uint8_t *b = exact(f, len);
  int v = dd_parse_frame_vlan(len ? b : b + 1, len, tab->vlan, DD_TAG_NONE, p); /* len 0: a pointer to nothing addressable */
  free(b);
  CHECK(v >= 0 && v < DD_V_COUNT, "verdict %d out of range", v);
  return v;
}

/* The Ethernet header length of a frame as the parser reads it (one inline 802.1Q tag or none). */
static uint32_t l2_of(const uint8_t *f, uint32_t len) { return len >= 18 && rd16(f + 12) == 0x8100 ? 18 : 14; }

/* dd_forward_frame on an exact copy (with the 4 bytes of room before it that PACKET_RESERVE gives the ring), `meta`
 * the tag the receive path took out: returns 1 when forwarded, 3 when forwarded with that tag put back, 2 when
 * answered with a port unreachable; checks that only the MACs changed (and the tag went back), and only then, and
 * that a reply quotes the frame and carries the table's VLAN. */
static int forward_meta(const uint8_t *f, uint32_t caplen, uint32_t wirelen, int32_t meta) {
  uint8_t *room = malloc(caplen + 4), *b = room + 4;
  uint8_t *reply = malloc(DD_REPLY_MAX);
  uint32_t rlen = 0, l2 = l2_of(f, caplen), tag = tab->vlan ? 4 : 0, R = 14 + tag;
  uint64_t rx = tab->counters[DD_C_RX_FRAMES], dropped = 0, nodest = tab->verdicts[DD_V_NO_DEST], closed = tab->verdicts[DD_V_DEST_CLOSED];
  if (!reply || !room) abort();
  struct dd_hint hint;
  struct dd_pkt p;
  memcpy(b, f, caplen);
  for (int i = 0; i < DD_V_COUNT; i++) dropped += tab->verdicts[i];
  /* The pass reads the frame within caplen, and finds the key of every frame the parser decides by its key. */
  dd_hint_frame(tab, b, caplen, meta, &hint);
  if (dd_parse_frame_vlan(b, caplen, tab->vlan, meta, &p) == DD_V_FORWARD && !(p.pflags & (DD_PF_ICMP | DD_PF_FRAG_LATER)))
    CHECK(hint.ok && dd_hint_hash(&hint, &p) && hint.hash == dd_conn_hash(tab, 0, p.proto, p.saddr, p.sport, p.daddr, p.dport),
          "the prefetch pass misses the key of a frame the parser reads (ok %d)", hint.ok);
  int r = dd_forward_frame_hinted(tab, b, caplen, wirelen, meta, now_ms, OUR_MAC, reply, &rlen, &hint);
  uint64_t dropped_after = 0;
  for (int i = 0; i < DD_V_COUNT; i++) dropped_after += tab->verdicts[i];
  CHECK(tab->counters[DD_C_RX_FRAMES] == rx + 1, "rx_frames not counted");
  CHECK(dropped_after == dropped + (r == 1 || r == 3 ? 0 : 1), "a dropped frame is counted by reason exactly once (r=%d)", r);
  CHECK(r != 3 || meta >= 0, "a tag put back that was not taken out");
  CHECK(r != 1 || meta < 0, "a tag taken out but not put back");
  if (r == 2 && tab->verdicts[DD_V_DEST_CLOSED] == closed + 1) {   /* the RST for a closing dest's connection */
    uint32_t ihl = (f[l2] & 15) * 4;
    const uint8_t *th = f + l2 + ihl, *o = reply + R, *tc = o + 20;
    CHECK(rlen == R + 40, "RST length %u", rlen);
    CHECK(f[l2 + 9] == 6 && !(th[13] & DD_TH_RST), "a RST only for a TCP segment that is no RST");
    CHECK(memcmp(reply, f + 6, 6) == 0 && memcmp(reply + 6, OUR_MAC, 6) == 0, "RST goes back to the sender's MAC");
    CHECK(!tag || (rd16(reply + 12) == 0x8100 && rd16(reply + 14) == tab->vlan), "RST on our VLAN");
    CHECK(rd16(reply + R - 2) == 0x0800 && o[9] == 6 && rd16(o + 2) == 40, "RST is a 40-byte TCP packet");
    CHECK(memcmp(o + 12, f + l2 + 16, 4) == 0 && memcmp(o + 16, f + l2 + 12, 4) == 0, "RST from the VIP to the client");
    CHECK(rd16(tc) == rd16(th + 2) && rd16(tc + 2) == rd16(th), "RST from the VIP's port to the client's");
    CHECK((th[13] & DD_TH_ACK) ? (memcmp(tc + 4, th + 8, 4) == 0 && tc[13] == DD_TH_RST) : tc[13] == (DD_TH_RST | DD_TH_ACK), "RST seq/flags (RFC 793)");
    CHECK(memcmp(b, f, caplen) == 0, "the frame itself is left untouched");
  } else if (r == 2) {
    uint32_t ihl = (f[l2] & 15) * 4;
    CHECK(tab->verdicts[DD_V_NO_DEST] == nodest + 1, "a reply only for no_dest");
    CHECK(rlen == R + 28 + ihl + 8 && rlen <= DD_REPLY_MAX, "reply length %u", rlen);
    CHECK(memcmp(reply, f + 6, 6) == 0 && memcmp(reply + 6, OUR_MAC, 6) == 0, "reply goes back to the sender's MAC");
    CHECK(!tag || (rd16(reply + 12) == 0x8100 && rd16(reply + 14) == tab->vlan), "reply on our VLAN");
    CHECK(rd16(reply + R - 2) == 0x0800 && reply[R + 9] == 1 && reply[R + 20] == 3 && reply[R + 21] == 3, "reply is an ICMP port unreachable");
    CHECK(memcmp(reply + R + 12, f + l2 + 16, 4) == 0 && memcmp(reply + R + 16, f + l2 + 12, 4) == 0, "reply from the VIP to the client");
    CHECK(memcmp(reply + R + 28, f + l2, ihl + 8) == 0, "reply quotes the IP header and 8 bytes");
    CHECK(memcmp(b, f, caplen) == 0, "the frame itself is left untouched");
  } else if (r) {
    uint8_t *o = r == 3 ? dd_insert_tag(b, meta) : b;
    uint32_t at = r == 3 ? 16 : 12;
    CHECK(caplen >= 12 && memcmp(o + 6, OUR_MAC, 6) == 0, "source MAC is ours");
    CHECK(memcmp(o, DEST_MAC[0], 6) == 0 || memcmp(o, DEST_MAC[1], 6) == 0, "destination MAC is a real server's");
    CHECK(r != 3 || (rd16(o + 12) == 0x8100 && rd16(o + 14) == (uint32_t)meta), "the tag is back, TCI unchanged");
    CHECK(memcmp(o + at, f + 12, caplen - 12) == 0, "nothing but the MACs changed");
    forwarded++;
  } else CHECK(caplen == 0 || memcmp(b, f, caplen) == 0, "a dropped frame is left untouched");
  free(room);
  free(reply);
  return r;
}

static int forward(const uint8_t *f, uint32_t caplen, uint32_t wirelen) { return forward_meta(f, caplen, wirelen, DD_TAG_NONE); }

static uint64_t verdict_count(int v) { return tab->verdicts[v]; }

/* ---- structured cases: the verdict follows from how the frame was built ---- */

static void expect(const char *name, const struct spec *s, int want) {
  uint8_t f[MAXF];
  uint32_t l3, tot, len = build(s, f, &l3, &tot);
  struct dd_pkt p;
  where_case++;
  int v = parse(f, len, &p);
  CHECK(v == want, "%s: verdict %d, want %d", name, v, want);
  /* Every shorter capture of it, for memory safety (and verdicts in range). */
  for (uint32_t l = 0; l < len; l++) parse(f, l, &p), forward(f, l, l);
}

/* A frame the parser accepts: its fields come back, and every truncation is truncated (or, inside the Ethernet
 * padding, still accepted). */
static void accepted(const char *name, const struct spec *s) {
  uint8_t f[MAXF];
  uint32_t l3, tot, len = build(s, f, &l3, &tot);
  struct dd_pkt p;
  where_case++;
  int v = parse(f, len, &p);
  CHECK(v == DD_V_FORWARD, "%s: verdict %d, want forward", name, v);
  CHECK(p.saddr == s->saddr && p.daddr == s->daddr && p.sport == s->sport && p.dport == s->dport &&
        p.proto == s->proto && p.iplen == tot && p.tcpflags == (s->proto == 6 ? s->flags : 0), "%s: fields", name);
  for (uint32_t l = 0; l < len; l++) {
    int want = l < l3 + tot ? DD_V_TRUNCATED : DD_V_FORWARD;
    v = parse(f, l, &p);
    CHECK(v == want, "%s cut to %u of %u bytes: verdict %d, want %d", name, l, len, v, want);
    forward(f, l, l);
    forward(f, l, len); /* a capture shorter than the wire frame */
  }
}

/* ICMP errors: the flow comes back the client's way round; every bound of the embedded header holds. */
static void icmp_one(const char *name, const struct icmp_spec *c, int want) {
  uint8_t f[MAXF];
  uint32_t tot, len = build_icmp(c, f, &tot);
  struct dd_pkt p;
  where_case++;
  int v = parse(f, len, &p);
  CHECK(v == want, "%s: verdict %d, want %d", name, v, want);
  if (want == DD_V_FORWARD)
    CHECK(p.pflags == DD_PF_ICMP && p.saddr == c->in.daddr && p.daddr == c->in.saddr && p.sport == c->in.dport &&
          p.dport == c->in.sport && p.proto == c->in.proto, "%s: the embedded flow, reversed", name);
  for (uint32_t l = 0; l < len; l++) {
    v = parse(f, l, &p);
    CHECK(v == DD_V_TRUNCATED, "%s cut to %u of %u bytes: verdict %d, want truncated", name, l, len, v);
    forward(f, l, l);
  }
  forward(f, len, len);
}

static void icmp_cases(void) {
  struct icmp_spec c;
  c = icmp_base(); icmp_one("fragmentation needed about a TCP reply", &c, DD_V_FORWARD);
  c = icmp_base(); c.code = 3; c.in.proto = 17; icmp_one("port unreachable about a UDP reply", &c, DD_V_FORWARD);
  c = icmp_base(); c.type = 11; c.code = 0; icmp_one("time exceeded", &c, DD_V_FORWARD);
  c = icmp_base(); c.type = 4; c.code = 0; icmp_one("source quench", &c, DD_V_FORWARD);
  c = icmp_base(); c.extra = 500; icmp_one("with more of the embedded packet", &c, DD_V_FORWARD);
  for (int w = 1; w <= 10; w++) { c = icmp_base(); c.in.opt_words = w; icmp_one("embedded IP options", &c, DD_V_FORWARD); }
  c = icmp_base(); c.in.frag = 0x2000; icmp_one("about a first fragment", &c, DD_V_FORWARD);
  c = icmp_base(); c.in.frag = 0x0010; icmp_one("about a later fragment", &c, DD_V_FRAGMENT);
  for (int v = 0; v < 16; v++) if (v != 4) { c = icmp_base(); c.in.version = (uint8_t)v; icmp_one("embedded version", &c, DD_V_BAD_IHL); }
  for (int i = 0; i < 5; i++) { c = icmp_base(); c.in.ihl = i; icmp_one("embedded IHL < 5", &c, DD_V_BAD_IHL); }
  c = icmp_base(); c.in.ihl = 15; icmp_one("embedded IHL beyond the quote", &c, DD_V_TRUNCATED);
  c = icmp_base(); c.in.proto = 1; icmp_one("about ICMP", &c, DD_V_NO_SERVICE);
  static const uint8_t types[] = { 0, 5, 8, 12, 13, 255 };
  for (unsigned i = 0; i < sizeof(types); i++) { c = icmp_base(); c.type = types[i]; icmp_one("not an error IPVS relays", &c, DD_V_NO_SERVICE); }
}

/* On VLAN 5: one 802.1Q tag of it, inline or in metadata; everything else is `vlan`. */
static void vlan_cases(void) {
  struct spec s;
  uint8_t f[MAXF];
  uint32_t l3, tot, len;
  tab->vlan = 5;
  s = base(); s.vlan = 1; accepted("802.1Q on our VLAN", &s);
  s = base(); s.vlan = 1; s.tci = 0xa005; s.opt_words = 3; accepted("802.1Q on our VLAN, PCP 5, IP options", &s);
  s = base(); s.vlan = 1; s.proto = 17; s.dport = 53; s.pad_to = 64; accepted("UDP on our VLAN, padded", &s);
  s = base(); expect("untagged on a VLAN", &s, DD_V_VLAN);
  s = base(); s.vlan = 1; s.tci = 6; expect("another VLAN", &s, DD_V_VLAN);
  s = base(); s.vlan = 2; expect("802.1ad", &s, DD_V_VLAN);
  s = base(); s.vlan = 3; expect("QinQ", &s, DD_V_VLAN);
  s = base(); s.vlan = 1; s.ethertype = 0x8100; expect("a second 802.1Q tag", &s, DD_V_VLAN);
  s = base(); s.vlan = 1; s.ethertype = 0x0806; expect("ARP on our VLAN", &s, DD_V_NOT_IPV4);
  /* The tag in metadata: the frame untagged, the TCI beside it. */
  s = base(); s.sport = 40700; len = build(&s, f, &l3, &tot);
  where_case++;
  CHECK(forward_meta(f, len, len, 5) == 3, "metadata tag of our VLAN: forwarded, tag put back");
  CHECK(forward_meta(f, len, len, 0xe005) == 3, "with its priority bits");
  CHECK(forward_meta(f, len, len, 6) == 0, "metadata tag of another VLAN: vlan");
  CHECK(forward_meta(f, len, len, DD_TAG_OTHER) == 0, "metadata tag of 802.1ad: vlan");
  for (uint32_t l = 0; l < len; l++) CHECK(forward_meta(f, l, l, 5) == 0, "metadata tag, frame cut to %u", l);
  s.vlan = 1; len = build(&s, f, &l3, &tot);
  CHECK(forward_meta(f, len, len, 5) == 0, "a tag in metadata and one inline: vlan");
  s = base(); s.proto = 17; s.dport = 53; s.vlan = 1; len = build(&s, f, &l3, &tot);
  CHECK(forward(f, len, len) == 2, "no_dest on our VLAN: answered (tagged, checked by forward)");
  s.vlan = 0; len = build(&s, f, &l3, &tot);
  CHECK(forward_meta(f, len, len, 5) == 2, "no_dest, tag in metadata: answered on our VLAN");
  tab->vlan = 0;
  s = base(); s.sport = 40701; len = build(&s, f, &l3, &tot);
  CHECK(forward_meta(f, len, len, 5) == 0, "metadata tag on no VLAN: vlan, not forwarded untagged");
  CHECK(forward_meta(f, len, len, 0x2000) == 3, "a priority tag in metadata on no VLAN: forwarded, tag put back");
}

static void structured(void) {
  struct spec s;
  where_phase = "structured";
  s = base(); accepted("TCP SYN", &s);
  s = base(); s.flags = DD_TH_ACK; s.payload = 100; accepted("TCP ACK with data", &s);
  s = base(); s.proto = 17; s.dport = 53; accepted("UDP", &s);
  s = base(); s.proto = 17; s.dport = 53; s.pad_to = 60; accepted("UDP in a padded minimum frame", &s);
  s = base(); s.frag = 0; accepted("no DF", &s);
  for (int w = 1; w <= 10; w++) { s = base(); s.opt_words = w; accepted("IP options", &s); }
  for (int w = 1; w <= 10; w++) { s = base(); s.tcp_opt_words = w; accepted("TCP options (data offset 6..15)", &s); }
  for (int v = 0; v < 16; v++) if (v != 4) { s = base(); s.version = (uint8_t)v; expect("IP version not 4", &s, DD_V_BAD_IHL); }
  for (int i = 0; i < 5; i++) { s = base(); s.ihl = i; expect("IHL < 5", &s, DD_V_BAD_IHL); }
  s = base(); s.ihl = 15; s.pad_to = 120; expect("IHL beyond the total length", &s, DD_V_BAD_IHL);
  for (int t = 1; t < 20; t++) { s = base(); s.tot = t; s.pad_to = 64; expect("total length < 20", &s, DD_V_BAD_IHL); }
  s = base(); s.tot = 41; expect("total length beyond the frame", &s, DD_V_TRUNCATED);
  s = base(); s.tot = 1500; expect("total length far beyond the frame", &s, DD_V_TRUNCATED);
  for (int t = 0; t < 20; t++) { s = base(); s.tot = 20 + t; s.pad_to = 60; expect("TCP header cut by the total length", &s, DD_V_TRUNCATED); }
  for (int t = 0; t < 8; t++) { s = base(); s.proto = 17; s.tot = 20 + t; s.pad_to = 60; expect("UDP header cut by the total length", &s, DD_V_TRUNCATED); }
  s = base(); s.frag = 0x2000; accepted("first fragment (MF)", &s);
  s = base(); s.proto = 17; s.frag = 0x2000; s.payload = 100; accepted("first UDP fragment", &s);
  static const uint16_t frags[] = { 0x0001, 0x1fff, 0x3fff, 0x2001, 0x4001 };
  for (unsigned i = 0; i < sizeof(frags) / sizeof(frags[0]); i++) {
    struct dd_pkt p;
    uint8_t f[MAXF];
    uint32_t l3, tot, len;
    s = base(); s.frag = frags[i]; s.proto = i & 1 ? 17 : 6;
    expect("later fragment", &s, DD_V_FORWARD);
    len = build(&s, f, &l3, &tot);
    parse(f, len, &p);
    CHECK(p.pflags == DD_PF_FRAG_LATER && p.sport == 0 && p.dport == 0 && p.ipid == 0, "later fragment: no ports, id");
    s.proto = 47; expect("later fragment, neither TCP nor UDP", &s, DD_V_NO_SERVICE);
  }
  icmp_cases();
  s = base(); s.vlan = 1; expect("802.1Q tag", &s, DD_V_VLAN);
  s = base(); s.vlan = 2; expect("802.1ad tag", &s, DD_V_VLAN);
  s = base(); s.vlan = 1; s.tci = 0xa000; accepted("priority tag (VLAN 0) on no VLAN", &s);
  vlan_cases();
  static const uint16_t ets[] = { 0x0806, 0x86dd, 0x0000, 0xffff, 0x0801, 0x8035 };
  for (unsigned i = 0; i < sizeof(ets) / sizeof(ets[0]); i++) { s = base(); s.ethertype = ets[i]; expect("not IPv4", &s, DD_V_NOT_IPV4); }
  for (int d = 0; d < 5; d++) { s = base(); s.doff = d; expect("TCP data offset < 5", &s, DD_V_BAD_IHL); }
  for (int d = 6; d < 16; d++) { s = base(); s.doff = d; s.payload = (d - 5) * 4 - 1; expect("TCP data offset beyond the segment", &s, DD_V_BAD_IHL); }
  for (int pr = 0; pr < 256; pr++) if (pr != 6 && pr != 17) { s = base(); s.proto = (uint8_t)pr; expect("neither TCP nor UDP", &s, DD_V_NO_SERVICE); }
}

static int closing;   /* the first real server closes its connections (writer_demote = close) */
static void set_policy(int macs);

/* With the SYN of base() forwarded: ICMP about that flow follows it, fragments follow their first fragment. */
static void relay_and_fragments(void) {
  uint8_t f[MAXF];
  uint32_t l3, tot, len;
  struct icmp_spec c = icmp_base();
  struct spec s;
  uint64_t relayed = tab->counters[DD_C_ICMP_RELAYED], nc;
  len = build_icmp(&c, f, &tot);
  CHECK(forward(f, len, len) == 1 && tab->counters[DD_C_ICMP_RELAYED] == relayed + 1, "ICMP about the connection is relayed");
  c.in.dport = 40099; len = build_icmp(&c, f, &tot);   /* no such connection, but the client's template */
  CHECK(forward(f, len, len) == 1, "ICMP about another port of a persistent client follows its template");
  c.in.daddr = 0x0a3e0101; len = build_icmp(&c, f, &tot);
  nc = verdict_count(DD_V_ICMP_NO_CONN);
  CHECK(forward(f, len, len) == 0 && verdict_count(DD_V_ICMP_NO_CONN) == nc + 1, "ICMP about an unknown flow: icmp_no_conn");
  s = base(); s.sport = 40500; s.frag = 0x2000; len = build(&s, f, &l3, &tot);
  f[l3 + 4] = 0x12; f[l3 + 5] = 0x34;   /* IP id */
  CHECK(forward(f, len, len) == 1, "a first fragment is scheduled");
  s.frag = 0x0003; s.payload = 16; len = build(&s, f, &l3, &tot);
  f[l3 + 4] = 0x12; f[l3 + 5] = 0x34;
  uint64_t fr = tab->counters[DD_C_FRAGMENTS];
  CHECK(forward(f, len, len) == 1 && tab->counters[DD_C_FRAGMENTS] == fr + 1, "its later fragment follows it");
  f[l3 + 5] = 0x35;
  nc = verdict_count(DD_V_FRAGMENT);
  CHECK(forward(f, len, len) == 0 && verdict_count(DD_V_FRAGMENT) == nc + 1, "another datagram's fragment: fragment");
  f[l3 + 5] = 0x34;
  now_ms += DD_FRAG_TIMEOUT_MS + 1;
  CHECK(forward(f, len, len) == 0 && verdict_count(DD_V_FRAGMENT) == nc + 2, "after the timeout: fragment");
}

/* The forward path: dd_process's verdicts and the rewrite, on a table with one TCP and one UDP service. */
static void forward_path(void) {
  uint8_t f[MAXF];
  uint32_t l3, tot, len;
  struct spec s;
  where_phase = "forward";
  s = base();
  len = build(&s, f, &l3, &tot);
  where_case++;
  CHECK(forward(f, len, len) == 1, "a SYN to the TCP service is forwarded");
  s.flags = DD_TH_ACK; len = build(&s, f, &l3, &tot);
  CHECK(forward(f, len, len) == 1, "the same connection's ACK follows it");
  s.sport = 40001; len = build(&s, f, &l3, &tot);
  uint64_t nc = verdict_count(DD_V_NO_CONN);
  CHECK(forward(f, len, len) == 0 && verdict_count(DD_V_NO_CONN) == nc + 1, "an ACK without a connection: no_conn");
  s = base(); s.dport = 81; len = build(&s, f, &l3, &tot);
  uint64_t ns = verdict_count(DD_V_NO_SERVICE);
  CHECK(forward(f, len, len) == 0 && verdict_count(DD_V_NO_SERVICE) == ns + 1, "port 81: no_service");
  s = base(); s.proto = 17; s.dport = 53; len = build(&s, f, &l3, &tot);
  uint64_t nd = verdict_count(DD_V_NO_DEST);
  uint64_t sent = tab->counters[DD_C_ICMP_UNREACH_SENT];
  CHECK(forward(f, len, len) == 2 && verdict_count(DD_V_NO_DEST) == nd + 1, "UDP to a dest without a MAC: no_dest, answered");
  CHECK(tab->counters[DD_C_ICMP_UNREACH_SENT] == sent + 1, "the port unreachable is counted");
  s.saddr = 0xe0000001; len = build(&s, f, &l3, &tot);
  CHECK(forward(f, len, len) == 0 && verdict_count(DD_V_NO_DEST) == nd + 2, "from a multicast source: no reply");
  /* writer_demote = close: a connection whose dest closes its connections is reset at its next segment. */
  s = base(); s.sport = 40003; len = build(&s, f, &l3, &tot);
  CHECK(forward(f, len, len) == 1, "a SYN (to be closed)");
  s = base(); s.sport = 40004; len = build(&s, f, &l3, &tot);
  CHECK(forward(f, len, len) == 1, "another SYN (to be closed)");
  closing = 1;
  set_policy(1);
  uint64_t dc = verdict_count(DD_V_DEST_CLOSED), rs = tab->counters[DD_C_RESETS_SENT];
  s = base(); s.sport = 40003; s.flags = DD_TH_ACK; s.payload = 20; len = build(&s, f, &l3, &tot);
  CHECK(forward(f, len, len) == 2 && verdict_count(DD_V_DEST_CLOSED) == dc + 1 && tab->counters[DD_C_RESETS_SENT] == rs + 1, "its next segment: dest_closed, answered with a RST");
  nc = verdict_count(DD_V_NO_CONN);
  CHECK(forward(f, len, len) == 0 && verdict_count(DD_V_NO_CONN) == nc + 1, "and its entry is gone: no_conn");
  s = base(); s.sport = 40004; s.flags = DD_TH_RST; len = build(&s, f, &l3, &tot);
  CHECK(forward(f, len, len) == 0 && verdict_count(DD_V_DEST_CLOSED) == dc + 2 && tab->counters[DD_C_RESETS_SENT] == rs + 1, "a RST segment: dest_closed, no RST for it");
  closing = 0;
  set_policy(1);
  relay_and_fragments();
  set_policy(0); /* the neighbour entries go: the established connection has nowhere to go */
  s = base(); s.flags = DD_TH_ACK; len = build(&s, f, &l3, &tot);
  uint64_t nm = verdict_count(DD_V_NO_MAC);
  CHECK(forward(f, len, len) == 0 && verdict_count(DD_V_NO_MAC) == nm + 1, "its dest lost its MAC: no_mac");
  set_policy(1);
  s = base(); s.sport = 40002; len = build(&s, f, &l3, &tot);
  uint64_t tr = verdict_count(DD_V_TRUNCATED);
  CHECK(forward(f, len, len + 1) == 0 && verdict_count(DD_V_TRUNCATED) == tr + 1, "capture shorter than the wire: truncated");
  tab->forwarding = 0;
  uint64_t na = verdict_count(DD_V_NOT_ACTIVE);
  CHECK(forward(f, len, len) == 0 && verdict_count(DD_V_NOT_ACTIVE) == na + 1, "forwarding off: not_active");
  tab->forwarding = 1;
  for (uint32_t l = 0; l < len; l++) {
    tr = verdict_count(DD_V_TRUNCATED);
    CHECK(forward(f, l, l) == 0 && verdict_count(DD_V_TRUNCATED) == tr + 1, "a SYN cut to %u bytes: truncated", l);
  }
}

/* ---- random: seeded mutations of valid frames, and plain noise ---- */

static void random_spec(struct spec *s) {
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

static void random_phase(unsigned long long iterations, double max_s) {
  uint8_t f[MAXF];
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  where_phase = "random";
  for (where_case = 0; where_case < iterations; where_case++) {
    uint32_t l3, tot, len;
    struct spec s;
    if ((where_case & 1023) == 0) {
      clock_gettime(CLOCK_MONOTONIC, &t1);
      if ((t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9 > max_s) break;
    }
    if (rnd(8) == 0) { /* noise */
      len = rnd(rnd(4) ? 80 : MAXF);
      for (uint32_t i = 0; i < len; i++) f[i] = (uint8_t)next64();
      if (len >= 14 && rnd(2)) wr16(f + 12, 0x0800);
      l3 = 14; tot = 0;
    } else if (rnd(6) == 0) {   /* an ICMP error about a (mostly) VIP flow */
      struct icmp_spec c = icmp_base();
      random_spec(&c.in);
      c.in.saddr = rnd(8) ? VIP : (uint32_t)next64();
      c.in.daddr = 0x0a3d0000 | rnd(4096);
      c.in.sport = rnd(2) ? 80 : 53;
      c.in.dport = (uint16_t)(1024 + rnd(64));
      c.type = rnd(4) ? (rnd(2) ? 3 : 11) : (uint8_t)rnd(256);
      c.extra = rnd(2) ? 0 : (int)rnd(64);
      len = build_icmp(&c, f, &tot);
      for (uint32_t k = rnd(4); k > 0; k--) f[rnd(len)] = (uint8_t)next64();
      if (rnd(3) == 0) len = rnd(len + 1);
    } else {
      random_spec(&s);
      len = build(&s, f, &l3, &tot);
      for (uint32_t k = rnd(4); k > 0; k--) f[rnd(len)] = (uint8_t)next64();
      if (rnd(3) == 0) len = rnd(len + 1);
    }
    struct dd_pkt p;
    tab->vlan = rnd(4) ? 0 : 5;   /* the same table on a VLAN now and then */
    int v = parse(f, len, &p);
    seen[v]++;
    if (v == DD_V_FORWARD) {
      /* Independent of the parser: what it claims to have read lies inside the frame. */
      uint32_t l2 = l2_of(f, len), ihl = (f[l2] & 15) * 4;
      CHECK(p.l2 == l2 && (l2 == 18 ? (rd16(f + 14) & 0xfff) : 0) == tab->vlan, "accepted on another VLAN");
      CHECK(rd16(f + l2 - 2) == 0x0800 && (f[l2] >> 4) == 4 && ihl >= 20, "accepted with a bad header");
      CHECK(l2 + p.iplen <= len, "accepted beyond the frame");
      if (p.pflags & DD_PF_FRAG_LATER) {
        CHECK(p.sport == 0 && p.dport == 0 && (rd16(f + l2 + 6) & 0x1fff) != 0, "a later fragment has no ports");
      } else if (p.pflags & DD_PF_ICMP) {
        const uint8_t *e = f + l2 + ihl + 8;
        uint32_t eihl = (e[0] & 15) * 4;   /* in bounds: the outer total length covers an embedded header */
        CHECK(f[l2 + 9] == 1 && p.iplen >= ihl + 8 + 20 && p.iplen >= ihl + 8 + eihl + 8, "ICMP quote beyond the packet");
        CHECK(p.dport == rd16(e + eihl) && p.sport == rd16(e + eihl + 2), "ports read from the embedded L4 header");
      } else {
        CHECK(p.iplen >= ihl + (p.proto == 6 ? 20u : 8u), "accepted beyond the frame");
        CHECK(p.sport == rd16(f + l2 + ihl) && p.dport == rd16(f + l2 + ihl + 2), "ports read from the L4 header");
      }
    }
    if (rnd(32) == 0) now_ms += rnd(rnd(4) ? 2000 : 400000); /* timers fire, connections expire */
    if (rnd(256) == 0) { closing = !closing; set_policy(1); }   /* a writer demoted (or back) */
    now_ms++;
    if (len >= 18 && rd16(f + 12) == 0x8100 && rnd(2)) {
      /* The receive path's untag: the tag leaves the frame for metadata (AF_PACKET's ring header). */
      int32_t meta = rd16(f + 14);
      memmove(f + 12, f + 16, len - 16);
      len -= 4;
      forward_meta(f, len, rnd(16) ? len : len + rnd(100), rnd(16) ? meta : DD_TAG_OTHER);
    } else forward(f, len, rnd(16) ? len : len + rnd(100));
  }
}

static void set_policy(int macs) {
  struct dd_service_spec sv[2];
  struct dd_dest_spec d[3];
  memset(sv, 0, sizeof(sv));
  memset(d, 0, sizeof(d));
  sv[0].vip = VIP; sv[0].port = 80; sv[0].protocol = 6; sv[0].scheduler = DD_SCHED_RR; sv[0].persistent_ms = 30000;
  sv[0].pmask = 0xfffff000; sv[0].dest_count = 2; sv[0].dest_first = 0;
  sv[1].vip = VIP; sv[1].port = 53; sv[1].protocol = 17; sv[1].scheduler = DD_SCHED_WLC; sv[1].pmask = 0xffffffff;
  sv[1].dest_count = 1; sv[1].dest_first = 2;
  for (int i = 0; i < 3; i++) { d[i].addr = 0x0a3d000b + (uint32_t)i; d[i].weight = 1; }
  d[0].port = 80; d[0].has_mac = (uint8_t)macs; memcpy(d[0].mac, DEST_MAC[0], 6);
  d[1].port = 80; d[1].has_mac = (uint8_t)macs; memcpy(d[1].mac, DEST_MAC[1], 6);
  d[2].port = 53; /* no neighbour entry: no_mac */
  d[0].close_conns = d[1].close_conns = (uint8_t)closing;
  CHECK(dd_set_services(tab, sv, 2, d, 3) == 0, "dd_set_services");
}

int main(int argc, char **argv) {
  static const char *names[DD_V_COUNT] = { "forward", "truncated", "not_ipv4", "vlan", "bad_ihl", "fragment", "no_service",
    "no_conn", "no_dest", "dest_unavailable", "no_mac", "not_active", "table_full", "tx_error", "icmp_no_conn", "dest_closed" };
  if (argc != 4) { fprintf(stderr, "usage: %s SEED ITERATIONS MAX_SECONDS\n", argv[0]); return 2; }
  seed = strtoull(argv[1], NULL, 10);
  rng = seed;
  setbuf(stdout, NULL);
  printf("frame-fuzz: seed %llu\n", seed);
  tab = dd_table_new(1024); /* small: the table fills up, table_full is part of the run */
  CHECK(tab != NULL, "dd_table_new");
  set_policy(1);
  structured();
  unsigned long long structured_cases = where_case;
  forward_path();
  random_phase(strtoull(argv[2], NULL, 10), atof(argv[3]));
  printf("frame-fuzz: %llu structured cases, %llu random frames, %llu checks, %llu forwarded\nparser verdicts:", structured_cases,
         where_case, checks, forwarded);
  for (int i = 0; i < DD_V_COUNT; i++) printf(" %s=%llu", names[i], seen[i]);
  printf("\ntable verdicts:");
  for (int i = 0; i < DD_V_COUNT; i++) printf(" %s=%llu", names[i], i == DD_V_FORWARD ? forwarded : (unsigned long long)tab->verdicts[i]);
  printf("\n");
  dd_table_free(tab);
  return 0;
}
