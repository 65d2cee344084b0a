/* The per-frame step shared by every packet loop (AF_PACKET v2/v3, AF_XDP): count, parse, decide, rewrite the
 * MACs. Called with t->lock held; returns 1 when the frame is to be sent on, 0 when it was counted as a drop. */
#ifndef DIRECTORD_FORWARD_H
#define DIRECTORD_FORWARD_H
#include <string.h>
#include "core.h"

static inline int dd_forward_frame(struct dd_table *t, uint8_t *f, uint32_t caplen, uint32_t wirelen, int64_t now,
                                   const uint8_t mac[6]) {
  struct dd_pkt p;
  struct dd_decision dc;
  int v;
  t->counters[DD_C_RX_FRAMES]++;
  t->counters[DD_C_RX_BYTES] += wirelen;
  if (caplen < wirelen) v = DD_V_TRUNCATED;
  else if (!t->forwarding) v = DD_V_NOT_ACTIVE;
  else v = dd_parse_frame(f, caplen, &p);
  if (v == DD_V_FORWARD) { dd_process(t, &p, now, &dc); v = dc.verdict; }
  if (v != DD_V_FORWARD) { t->verdicts[v]++; return 0; }
  memcpy(f, t->dests[dc.dest].mac, 6);
  memcpy(f + 6, mac, 6);
  return 1;
}

#endif
