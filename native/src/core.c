/* Per-packet decisions of an IPVS Direct-Routing director (ip_vs_core.c / ip_vs_conn.c semantics): the input-only
 * TCP state table, ActiveConn/InActConn accounting and persistence templates, over the table of conntable.c. */
#include <stdlib.h>
#include <string.h>
#include "core.h"
#include "schedulers.h"

#define S_NONE DD_S_NONE
#define S_ES DD_S_ESTABLISHED
#define S_SS DD_S_SYN_SENT
#define S_SR DD_S_SYN_RECV
#define S_FW DD_S_FIN_WAIT
#define S_TW DD_S_TIME_WAIT
#define S_CL DD_S_CLOSE
#define S_CW DD_S_CLOSE_WAIT
#define S_LA DD_S_LAST_ACK
#define S_LI DD_S_LISTEN
#define S_SA DD_S_SYNACK

/* tcp_states[] INPUT-ONLY rows (the director of a DR service never sees the server's packets): [flag][state]. */
static const uint8_t input_only[4][11] = {
  /*          NONE  ES    SS    SR    FW    TW    CL    CW    LA    LI    SA */
  /* syn */ { S_SR, S_ES, S_ES, S_SR, S_SR, S_SR, S_SR, S_SR, S_SR, S_SR, S_SR },
  /* fin */ { S_CL, S_FW, S_SS, S_TW, S_FW, S_TW, S_CL, S_CW, S_LA, S_LI, S_TW },
  /* ack */ { S_ES, S_ES, S_SS, S_ES, S_FW, S_TW, S_CL, S_CW, S_CL, S_LI, S_ES },
  /* rst */ { S_CL, S_CL, S_CL, S_SR, S_CL, S_CL, S_CL, S_CL, S_LA, S_LI, S_CL },
};

static int state_active(uint8_t s) { return s == S_ES || s == S_SS || s == S_SR || s == S_SA; }

void dd_set_timeouts(struct dd_table *t, uint32_t tcp_s, uint32_t tcpfin_s, uint32_t udp_s) {
  if (tcp_s) t->timeouts_ms[DD_S_ESTABLISHED] = tcp_s * 1000;
  if (tcpfin_s) t->timeouts_ms[DD_S_FIN_WAIT] = tcpfin_s * 1000;
  if (udp_s) t->timeouts_ms[DD_S_UDP] = udp_s * 1000;
}

/* ---- sync ring ---- */
/* `now` is the packet's clock, not wheel_ms: the wheel runs a millisecond ahead after dd_expire, and a mark in the
 * future would read as 2^32 - 1 ms elapsed at the next packet of the same millisecond (a record per packet). */
static void sync_push(struct dd_table *t, uint32_t i, int64_t now) {
  struct dd_conn *c = &t->conns[i];
  struct dd_conn_record *r;
  if (!t->sync_enabled) return;
  c->synced_ms = (uint32_t)now;
  c->flags &= (uint8_t)~DD_CF_LEARNT;
  if (t->sync_count == DD_SYNC_RING) { t->counters[DD_C_SYNC_OVERFLOW]++; return; }
  r = &t->sync[(t->sync_head + t->sync_count++) % DD_SYNC_RING];
  memset(r, 0, sizeof(*r));
  r->expires_ms = c->timeout_ms;
  r->caddr = c->caddr; r->vaddr = c->vaddr; r->daddr = c->daddr; r->fwmark = c->fwmark;
  r->cport = c->cport; r->vport = c->vport; r->dport = c->dport;
  r->protocol = c->proto; r->state = c->state; r->template_ = (c->flags & DD_CF_TEMPLATE) ? 1 : 0;
}

/* ---- per packet ---- */
static int flag_index(uint8_t f) {
  if (f & DD_TH_RST) return 3;
  if (f & DD_TH_SYN) return 0;
  if (f & DD_TH_FIN) return 1;
  if (f & DD_TH_ACK) return 2;
  return -1;
}

/* set_tcp_state (input direction) / udp_state_transition, moving the conn between ActiveConn and InActConn. */
static void transition(struct dd_table *t, uint32_t i, const struct dd_pkt *p, int64_t now) {
  struct dd_conn *c = &t->conns[i];
  struct dd_dest *d = &t->dests[c->dest];
  uint8_t ns = S_CL;   /* set_tcp_state: a segment with none of the four flags moves to CLOSE */
  int fi;
  if (c->proto == 17) { c->timeout_ms = t->timeouts_ms[DD_S_UDP]; return; }
  fi = flag_index(p->tcpflags);
  if (fi >= 0 && c->state < 11) ns = input_only[fi][c->state];
  c->timeout_ms = t->timeouts_ms[ns];   /* before sync_push: the record carries the new state's timeout */
  if (ns != c->state) {
    if (!(c->flags & DD_CF_INACTIVE) && !state_active(ns)) { d->active--; d->inact++; c->flags |= DD_CF_INACTIVE; }
    else if ((c->flags & DD_CF_INACTIVE) && state_active(ns)) { d->active++; d->inact--; c->flags &= ~DD_CF_INACTIVE; }
    c->state = ns;
    if (ns == S_ES) dd_conn_established(t, i);
    if (ns == S_ES && c->control != DD_NIL && t->conns[c->control].state != DD_S_ASSURED) {
      t->conns[c->control].state = DD_S_ASSURED;
      sync_push(t, c->control, now);
    }
    sync_push(t, i, now);
  }
}

/* Exact (proto, VIP, port) first, then a port-0 service of that VIP; userspace sees no skb mark, so a fwmark
 * service matches every port of its VIP (a deliberate difference, see docs/dataplane.md). */
static struct dd_service *find_service(struct dd_table *t, const struct dd_pkt *p, uint32_t *slot) {
  int i, zero = -1, fw = -1;
  for (i = 0; i < DD_MAX_SERVICES; i++) {
    struct dd_service *s = &t->svcs[i];
    if (!s->in_use || s->vip != p->daddr) continue;
    if (s->fwmark == 0 && s->protocol == p->proto) {
      if (s->port == p->dport) { *slot = i; return s; }
      if (s->port == 0 && zero < 0) zero = i;
    }
    if (s->fwmark != 0 && fw < 0 && (p->proto == 6 || p->proto == 17)) fw = i;
  }
  if (zero >= 0) { *slot = zero; return &t->svcs[zero]; }
  if (fw >= 0) { *slot = fw; return &t->svcs[fw]; }
  return NULL;
}

void dd_template_invalidate(struct dd_table *t, uint32_t ti) {
  struct dd_conn *ct = &t->conns[ti];
  if (ct->vport == 0xffff) return;
  dd_hash_out(t, ti);
  ct->dport = 0xffff; ct->vport = 0xffff; ct->cport = 0;
  dd_hash_in(t, ti);
}

/* ip_vs_check_template: an invalid template is rehashed out of reach (vport = dport = 0xffff) and ages out.
 * Beyond IPVS, a dest down by its health check (failed) invalidates it too: checked lazily here, when the client
 * comes back, which is the only moment a template decides anything. */
static int check_template(struct dd_table *t, uint32_t ti, const struct dd_service *s) {
  struct dd_conn *ct = &t->conns[ti];
  struct dd_dest *d = &t->dests[ct->dest];
  if (!d->available || d->failed || (s->expire_quiescent_template && d->weight == 0)) {
    dd_template_invalidate(t, ti);
    return 0;
  }
  return 1;
}

/* The persistence template of the packet's client for service s (ip_vs_sched_persist's key), or DD_NIL. */
static uint32_t template_lookup(struct dd_table *t, const struct dd_service *s, const struct dd_pkt *p, int64_t now) {
  return dd_lookup(t, 1, s->fwmark ? 0 : p->proto, p->saddr & s->pmask, 0, s->fwmark ? s->fwmark : s->vip,
                   s->fwmark || s->port == 21 ? 0 : s->port, now);
}

/* ip_vs_schedule / ip_vs_sched_persist: returns the new connection or DD_NIL with d->verdict set. */
static uint32_t schedule(struct dd_table *t, uint32_t si, const struct dd_pkt *p, uint32_t hash, int64_t now,
                         struct dd_decision *dc) {
  struct dd_service *s = &t->svcs[si];
  uint32_t dest, ci, ti = DD_NIL;
  uint16_t dport;
  if (s->persistent_ms) {
    uint32_t snet = p->saddr & s->pmask;
    uint8_t tproto = s->fwmark ? 0 : p->proto;
    uint32_t tv = s->fwmark ? s->fwmark : s->vip;
    uint16_t tport = s->fwmark || s->port == 21 ? 0 : s->port;
    ti = template_lookup(t, s, p, now);
    if (ti == DD_NIL || !check_template(t, ti, s)) {
      dest = dd_schedule(t, s, p->saddr);
      if (dest == DD_NIL) { dc->verdict = DD_V_NO_DEST; return DD_NIL; }
      ti = dd_conn_new(t, 1, tproto, snet, 0, tv, tport, dest, (uint16_t)si,
                       p->dport == s->port && s->port != 21 ? t->dests[dest].port : 0, now, p->proto == 6, NULL);
      if (ti == DD_NIL) { dc->verdict = DD_V_TABLE_FULL; return DD_NIL; }
      t->conns[ti].timeout_ms = s->persistent_ms;
      sync_push(t, ti, now);
    }
    dest = t->conns[ti].dest;
  } else {
    if (!s->fwmark && p->dport != s->port) { dc->verdict = DD_V_NO_DEST; return DD_NIL; }   /* port-0 service */
    dest = dd_schedule(t, s, p->saddr);
    if (dest == DD_NIL) { dc->verdict = DD_V_NO_DEST; return DD_NIL; }
  }
  dport = p->dport == s->port && t->dests[dest].port ? t->dests[dest].port : p->dport;
  ci = dd_conn_new(t, 0, p->proto, p->saddr, p->sport, p->daddr, p->dport, dest, (uint16_t)si, dport, now, p->proto == 6, &hash);
  if (ci == DD_NIL) { dc->verdict = DD_V_TABLE_FULL; return DD_NIL; }
  if (ti != DD_NIL) {
    t->conns[ci].control = ti;
    t->conns[ti].n_control++;
    dd_conn_rearm(t, ti, now);
  }
  t->dests[dest].conns++;
  s->conns++;
  t->counters[DD_C_CONNS]++;
  dc->created = 1;
  return ci;
}

/* expire_nodest_conn of the connection's own service, or of the packet's service once that one is gone. */
static int nodest_expires(struct dd_table *t, const struct dd_conn *c, const struct dd_pkt *p) {
  uint32_t si;
  uint16_t owner = t->dests[c->dest].svc;
  const struct dd_service *s = owner != DD_NO_DEST ? &t->svcs[owner] : find_service(t, p, &si);
  return s ? s->expire_nodest_conn : 0;
}

/* Counted like any frame of the flow; the decision names the dest, whose MAC the caller writes. */
static void send_to_dest(struct dd_table *t, uint32_t dest, const struct dd_pkt *p, struct dd_decision *dc) {
  struct dd_dest *d = &t->dests[dest];
  dc->dest = dest;
  dc->svc = d->svc;
  d->in_pkts++; d->in_bytes += p->iplen;
  if (d->svc != DD_NO_DEST) { t->svcs[d->svc].in_pkts++; t->svcs[d->svc].in_bytes += p->iplen; }
  if (!d->has_mac) dc->verdict = DD_V_NO_MAC;
}

/* ip_vs_in_icmp for DR: an ICMP error about a VIP flow (p describes the flow the client's way round) goes unchanged
 * to the real server that owns the flow, found by its connection entry, else its client's persistence template.
 * Fragmentation needed reaching that server is what lets it lower its path MTU. The table does not change. */
static void process_icmp(struct dd_table *t, const struct dd_pkt *p, int64_t now, struct dd_decision *dc) {
  uint32_t ci = dd_lookup(t, 0, p->proto, p->saddr, p->sport, p->daddr, p->dport, now), si, dest = DD_NIL;
  if (ci != DD_NIL) dest = t->conns[ci].dest;
  else {
    const struct dd_service *s = find_service(t, p, &si);
    if (s && s->persistent_ms) {
      uint32_t ti = template_lookup(t, s, p, now);
      if (ti != DD_NIL) dest = t->conns[ti].dest;
    }
  }
  if (dest == DD_NIL || !t->dests[dest].available) { dc->verdict = DD_V_ICMP_NO_CONN; return; }
  send_to_dest(t, dest, p, dc);
  if (dc->verdict == DD_V_FORWARD) t->counters[DD_C_ICMP_RELAYED]++;
}

static struct dd_frag *frag_slot(struct dd_table *t, const struct dd_pkt *p) {
  return &t->frags[dd_conn_hash(t, 2, p->proto, p->saddr, p->ipid, p->daddr, 0) & (DD_FRAG_SLOTS - 1)];
}

/* A first fragment was sent to `dest`: its datagram's later fragments follow it there. A colliding older entry is
 * overwritten (its datagram's remaining fragments are then dropped as DD_V_FRAGMENT). */
static void frag_remember(struct dd_table *t, const struct dd_pkt *p, uint32_t dest, int64_t now) {
  struct dd_frag *e = frag_slot(t, p);
  e->saddr = p->saddr; e->daddr = p->daddr; e->ipid = p->ipid; e->proto = p->proto;
  e->dest = (uint16_t)dest; e->daddr_dest = t->dests[dest].addr;
  e->expires = now + DD_FRAG_TIMEOUT_MS;
  e->in_use = 1;
}

/* A later fragment: to the dest of its first fragment, if that one passed here within DD_FRAG_TIMEOUT_MS. */
static void process_frag(struct dd_table *t, const struct dd_pkt *p, int64_t now, struct dd_decision *dc) {
  struct dd_frag *e = frag_slot(t, p);
  if (!e->in_use || e->expires < now || e->saddr != p->saddr || e->daddr != p->daddr || e->ipid != p->ipid ||
      e->proto != p->proto || !t->dests[e->dest].available || t->dests[e->dest].addr != e->daddr_dest) {
    dc->verdict = DD_V_FRAGMENT;
    return;
  }
  send_to_dest(t, e->dest, p, dc);
  if (dc->verdict == DD_V_FORWARD) t->counters[DD_C_FRAGMENTS]++;
}

void dd_process(struct dd_table *t, const struct dd_pkt *p, int64_t now, struct dd_decision *dc) {
  dd_process_hashed(t, p, NULL, now, dc);
}

void dd_process_hashed(struct dd_table *t, const struct dd_pkt *p, const uint32_t *hash, int64_t now, struct dd_decision *dc) {
  uint32_t ci, si, h;
  struct dd_conn *c;
  struct dd_dest *d;
  dc->verdict = DD_V_FORWARD; dc->dest = DD_NIL; dc->svc = DD_NIL; dc->state = 0; dc->created = 0;
  dd_expire(t, now, DD_EXPIRE_BUDGET);
  if (p->pflags & DD_PF_ICMP) { process_icmp(t, p, now, dc); return; }
  if (p->pflags & DD_PF_FRAG_LATER) { process_frag(t, p, now, dc); return; }
  /* One hash per packet: the lookup's, reused when the packet makes a new connection of the same key. */
  h = hash ? *hash : dd_conn_hash(t, 0, p->proto, p->saddr, p->sport, p->daddr, p->dport);
  ci = dd_lookup_hashed(t, h, 0, p->proto, p->saddr, p->sport, p->daddr, p->dport, now);
  /* conn_reuse_mode 1: a SYN for a closed, uncontrolled entry starts a new connection. Beyond IPVS, a SYN on any
   * entry to a failed dest (templates invalid: down by its check, or a writer-mode standby) is rescheduled, as
   * expire_nodest_conn does for weight 0: the director never sees the server's RST or FIN, so a client port reused
   * after the server died or was demoted would otherwise open a new connection there (writes to a standby master). */
  if (ci != DD_NIL && p->proto == 6 && (p->tcpflags & DD_TH_SYN)) {
    c = &t->conns[ci];
    int resched = 0;
    if (nodest_expires(t, c, p) && t->dests[c->dest].weight == 0) resched = 1;
    else if (t->dests[c->dest].close_conns) resched = 1;
    else if (c->control == DD_NIL && (c->state == S_TW || c->state == S_CL)) resched = 1;
    else if (t->dests[c->dest].failed) resched = 1;
    if (resched) {
      if (!c->n_control) dd_conn_free(t, ci);
      ci = DD_NIL;
    }
  }
  /* A connection whose dest was removed: dropped, or with expire_nodest_conn expired and scheduled anew. */
  if (ci != DD_NIL && !t->dests[t->conns[ci].dest].available) {
    c = &t->conns[ci];
    if (!nodest_expires(t, c, p)) {
      dc->dest = c->dest; dc->state = c->state;
      dc->verdict = DD_V_DEST_UNAVAILABLE;
      return;
    }
    dd_conn_expire(t, ci, now);
    ci = DD_NIL;
  }
  /* A dest that closes its connections (writer_demote = close): like expire_nodest_conn, the entry goes at the
   * client's next packet. TCP: that packet is answered with a RST (the caller writes it: dd_tcp_reset), as the
   * director's own stack would for IPVS, so the client learns now rather than after its retransmissions; UDP has
   * no reset, so its packet is scheduled anew. */
  if (ci != DD_NIL && t->dests[t->conns[ci].dest].close_conns) {
    c = &t->conns[ci];
    if (p->proto == 6) {
      dc->dest = c->dest; dc->svc = t->dests[c->dest].svc; dc->state = c->state;
      dc->verdict = DD_V_DEST_CLOSED;
      dd_conn_expire(t, ci, now);
      return;
    }
    dd_conn_expire(t, ci, now);
    ci = DD_NIL;
  }
  if (ci == DD_NIL) {
    struct dd_service *s = find_service(t, p, &si);
    if (!s) { dc->verdict = DD_V_NO_SERVICE; return; }
    dc->svc = si;
    if (p->proto == 6 && (!(p->tcpflags & DD_TH_SYN) || (p->tcpflags & DD_TH_RST))) { dc->verdict = DD_V_NO_CONN; return; }
    ci = schedule(t, si, p, h, now, dc);
    if (ci == DD_NIL) return;
    sync_push(t, ci, now);
  }
  c = &t->conns[ci];
  d = &t->dests[c->dest];
  dc->svc = d->svc;
  dc->dest = c->dest;
  d->in_pkts++; d->in_bytes += p->iplen;
  if (d->svc != DD_NO_DEST) { t->svcs[d->svc].in_pkts++; t->svcs[d->svc].in_bytes += p->iplen; }
  transition(t, ci, p, now);
  dc->state = c->state;
  dd_conn_rearm(t, ci, now);
  /* IPVS's sync_refresh_period, at half the state's timeout: a flow that stays in one state (a pooled database
   * connection idles in ESTABLISHED for hours) is sent again before the peers' copies expire. One subtraction and
   * one compare per packet, no division. The elapsed time is taken modulo 2^32 ms (49.7 days) and stays exact: at
   * the previous packet it was under half the timeout (else a record went then), and the gap since is under the
   * timeout armed then (else the entry expired), so it is under 1.5 x the longest timeout, 1.5 x 31 days
   * (NativeTable.setTimeouts' cap, also on the peer whose record armed a learnt entry) < 2^32 ms. */
  if (t->sync_enabled && (uint32_t)now - c->synced_ms >= c->timeout_ms >> 1) sync_push(t, ci, now);
  if (!d->has_mac) dc->verdict = DD_V_NO_MAC;
  else if (p->pflags & DD_PF_FRAG_FIRST) frag_remember(t, p, c->dest, now);
}

uint32_t dd_conn_insert(struct dd_table *t, const struct dd_conn_record *r, uint32_t dest, uint16_t svc, int64_t now) {
  return dd_conn_new(t, r->template_, r->protocol, r->caddr, r->cport, r->vaddr, r->vport, dest, svc, r->dport, now, 0, NULL);
}
