/* What the parts of the frame fuzz share: the frame spec frame-fuzz-gen.c builds from, the run's state that
 * frame-fuzz-oracle.c checks and reports against, and CHECK, which fails the run with its phase, case and seed. */
#ifndef FRAME_FUZZ_H
#define FRAME_FUZZ_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "core.h"
#include "forward.h"

#define MAXF 1600
static const uint8_t OUR_MAC[6] = { 2, 0x61, 0, 0, 1, 1 };
static const uint8_t DEST_MAC[2][6] = { { 2, 0x61, 0, 0, 0, 0x11 }, { 2, 0x61, 0, 0, 0, 0x12 } };
static const uint32_t VIP = 0x0a3d0064; /* 10.61.0.100 */

/* The run (frame-fuzz-oracle.c): where it is, for every failure and ASan report, the table and its clock. */
extern unsigned long long seed, where_case;
extern const char *where_phase;
extern struct dd_table *tab;
extern int64_t now_ms;
extern unsigned long long seen[DD_V_COUNT], forwarded, checks;
extern int closing;   /* the first real server closes its connections (writer_demote = close) */

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

/* Frame generation and mutation (frame-fuzz-gen.c). */
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

/* An ICMP error from a router (10.61.0.1) to the VIP about the real server's reply VIP:vport -> client:cport.
 * `in` describes that embedded packet (saddr = VIP); extra = bytes of it after the first 8 of its L4 header. */
struct icmp_spec {
  uint8_t type, code;
  struct spec in;
  int extra;
};

extern uint64_t rng;
uint64_t next64(void);
uint32_t rnd(uint32_t n);
struct spec base(void);
void wr16(uint8_t *p, uint32_t v);
void wr32(uint8_t *p, uint32_t v);
uint16_t rd16(const uint8_t *p);
uint32_t build(const struct spec *s, uint8_t *f, uint32_t *l3, uint32_t *totp);
struct icmp_spec icmp_base(void);
uint32_t build_icmp(const struct icmp_spec *c, uint8_t *f, uint32_t *totp);
void random_spec(struct spec *s);

/* The oracle (frame-fuzz-oracle.c): each call checks what the construction or the invariants imply. */
int parse(const uint8_t *f, uint32_t len, struct dd_pkt *p);
int forward_meta(const uint8_t *f, uint32_t caplen, uint32_t wirelen, int32_t meta);
int forward(const uint8_t *f, uint32_t caplen, uint32_t wirelen);
uint64_t verdict_count(int v);
void set_policy(int macs);
void expect(const char *name, const struct spec *s, int want);
void accepted(const char *name, const struct spec *s);
void icmp_one(const char *name, const struct icmp_spec *c, int want);
void check_parsed(const uint8_t *f, uint32_t len, const struct dd_pkt *p);
#endif
