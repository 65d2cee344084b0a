/* The oracle of the frame fuzz: the parser and dd_forward_frame run on exactly-sized heap copies, and every result is
 * checked against what the frame's construction implies (structured cases) or against invariants (any frame). */
#include <string.h>
#include "frame-fuzz.h"

unsigned long long seed, where_case;
const char *where_phase = "setup";
struct dd_table *tab;
int64_t now_ms = 1000000;
unsigned long long seen[DD_V_COUNT], forwarded, checks;
int closing;

/* Called by ASan before its report: the report then says how to reproduce. */
void __asan_on_error(void) {
  fprintf(stderr, "frame-fuzz: memory error in phase %s, case %llu; reproduce with seed %llu\n", where_phase, where_case, seed);
}

/* An exactly-sized copy: malloc(len) with nothing addressable after it. */
static uint8_t *exact(const uint8_t *f, uint32_t len) {
  uint8_t *b = malloc(len ? len : 1);
  if (!b) abort();
  memcpy(b, f, len);
  return b;
}

int parse(const uint8_t *f, uint32_t len, struct dd_pkt *p) {
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
int forward_meta(const uint8_t *f, uint32_t caplen, uint32_t wirelen, int32_t meta) {
  uint8_t *room = malloc(caplen + 4), *b = room + 4;
  uint8_t *reply = malloc(DD_REPLY_MAX);
  uint32_t rlen = 0, l2 = l2_of(f, caplen), tag = tab->vlan ? 4 : 0, R = 14 + tag;
  uint64_t rx = tab->counters[DD_C_RX_FRAMES], dropped = 0, nodest = tab->verdicts[DD_V_NO_DEST], closed = tab->verdicts[DD_V_DEST_CLOSED];
  if (!reply || !room) abort();
  struct dd_hint hint;
  struct dd_pkt p;
  memcpy(b, f, caplen);
  for (int i = 0; i < DD_V_COUNT; i++) dropped += tab->verdicts[i];
  /* As the packet loops call it: after their prefetch pass over the same bytes, which reads the frame within caplen
   * and finds the key of every frame the parser decides by its key. */
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

int forward(const uint8_t *f, uint32_t caplen, uint32_t wirelen) { return forward_meta(f, caplen, wirelen, DD_TAG_NONE); }

uint64_t verdict_count(int v) { return tab->verdicts[v]; }

void set_policy(int macs) {
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

/* ---- structured cases: the verdict follows from how the frame was built ---- */

void expect(const char *name, const struct spec *s, int want) {
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
void accepted(const char *name, const struct spec *s) {
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
void icmp_one(const char *name, const struct icmp_spec *c, int want) {
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

/* A frame the parser accepted, checked independently of it: what it claims to have read lies inside the frame. */
void check_parsed(const uint8_t *f, uint32_t len, const struct dd_pkt *p) {
  uint32_t l2 = l2_of(f, len), ihl = (f[l2] & 15) * 4;
  CHECK(p->l2 == l2 && (l2 == 18 ? (rd16(f + 14) & 0xfff) : 0) == tab->vlan, "accepted on another VLAN");
  CHECK(rd16(f + l2 - 2) == 0x0800 && (f[l2] >> 4) == 4 && ihl >= 20, "accepted with a bad header");
  CHECK(l2 + p->iplen <= len, "accepted beyond the frame");
  if (p->pflags & DD_PF_FRAG_LATER) {
    CHECK(p->sport == 0 && p->dport == 0 && (rd16(f + l2 + 6) & 0x1fff) != 0, "a later fragment has no ports");
  } else if (p->pflags & DD_PF_ICMP) {
    const uint8_t *e = f + l2 + ihl + 8;
    uint32_t eihl = (e[0] & 15) * 4;   /* in bounds: the outer total length covers an embedded header */
    CHECK(f[l2 + 9] == 1 && p->iplen >= ihl + 8 + 20 && p->iplen >= ihl + 8 + eihl + 8, "ICMP quote beyond the packet");
    CHECK(p->dport == rd16(e + eihl) && p->sport == rd16(e + eihl + 2), "ports read from the embedded L4 header");
  } else {
    CHECK(p->iplen >= ihl + (p->proto == 6 ? 20u : 8u), "accepted beyond the frame");
    CHECK(p->sport == rd16(f + l2 + ihl) && p->dport == rd16(f + l2 + ihl + 2), "ports read from the L4 header");
  }
}
