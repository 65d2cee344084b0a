/* Frame fuzz of the C data plane under ASan/UBSan, run by frame-fuzz.test.ts: structured cases (the verdict follows
 * from the construction), the forward path's verdicts on a live table, then seeded random mutations until ITERATIONS
 * or MAX_SECONDS (the forward path after the loops' prefetch pass). Frames: frame-fuzz-gen.c; checks: frame-fuzz-oracle.c. Usage: frame-fuzz SEED ITERATIONS MAX_SECONDS */
#include <string.h>
#include <time.h>
#include "frame-fuzz.h"

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
    if (v == DD_V_FORWARD) check_parsed(f, len, &p);
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
