/* Policy updates and table read-outs: setServices as a diff that keeps dests (and their connections and counters)
 * matched by (service, address, port), removed dests kept in a "trash" while referenced, stats, -lnc rows, sync. */
#include <stddef.h>
#include <string.h>
#include "core.h"
#include "schedulers.h"

static int same_service(const struct dd_service *s, const struct dd_service_spec *sp) {
  return s->in_use && s->vip == sp->vip && s->port == sp->port && s->protocol == sp->protocol && s->fwmark == sp->fwmark;
}

static int find_dest(struct dd_table *t, const struct dd_service_spec *sp, uint32_t addr, uint16_t port) {
  int i;
  for (i = 0; i < DD_MAX_DESTS; i++) {
    struct dd_dest *d = &t->dests[i];
    if (d->in_use && d->addr == addr && d->port == port && d->kvip == sp->vip && d->kport == sp->port &&
        d->kproto == sp->protocol && d->kfwmark == sp->fwmark)
      return i;
  }
  return -1;
}

static int alloc_dest(struct dd_table *t) {
  int i;
  for (i = 0; i < DD_MAX_DESTS; i++)
    if (!t->dests[i].in_use) { memset(&t->dests[i], 0, sizeof(t->dests[i])); return i; }
  return -1;
}

/* Everything dd_set_services could refuse, checked before anything changes (all-or-nothing): record bounds,
 * duplicate services or dests, free service slots, and dest slots simulated in the order the apply takes and
 * frees them (a kept service's dropped dests are freed only after its new ones are placed). */
static int plan_services(struct dd_table *t, const struct dd_service_spec *svcs, uint32_t nsvc,
                         const struct dd_dest_spec *dests, uint32_t ndest, int *slot_of, uint8_t *keep) {
  uint32_t i, j, m;
  int64_t free_slots = 0;
  if (nsvc > DD_MAX_SERVICES) return -1;
  for (i = 0; i < nsvc; i++) {
    if (svcs[i].dest_count > DD_MAX_DESTS_PER_SERVICE || (uint64_t)svcs[i].dest_first + svcs[i].dest_count > ndest) return -2;
    for (j = 0; j < i; j++)
      if (svcs[j].vip == svcs[i].vip && svcs[j].port == svcs[i].port && svcs[j].protocol == svcs[i].protocol &&
          svcs[j].fwmark == svcs[i].fwmark) return -2;
    for (j = 0; j < svcs[i].dest_count; j++)
      for (m = 0; m < j; m++) {
        const struct dd_dest_spec *a = &dests[svcs[i].dest_first + j], *b = &dests[svcs[i].dest_first + m];
        if (a->addr == b->addr && a->port == b->port) return -2;
      }
  }
  memset(keep, 0, DD_MAX_SERVICES);
  for (i = 0; i < nsvc; i++) {
    slot_of[i] = -1;
    for (j = 0; j < DD_MAX_SERVICES; j++)
      if (same_service(&t->svcs[j], &svcs[i]) && !keep[j]) { slot_of[i] = (int)j; keep[j] = 1; break; }
  }
  for (j = 0; j < DD_MAX_DESTS; j++) if (!t->dests[j].in_use) free_slots++;
  /* Services that disappear free their unreferenced dests first. */
  for (j = 0; j < DD_MAX_SERVICES; j++) {
    const struct dd_service *s = &t->svcs[j];
    if (!s->in_use || keep[j]) continue;
    for (m = 0; m < s->ndests; m++) if (t->dests[s->dests[m]].refcnt == 0) free_slots++;
  }
  for (i = 0; i < nsvc; i++) {
    const struct dd_service_spec *sp = &svcs[i];
    for (j = 0; j < sp->dest_count; j++) {
      const struct dd_dest_spec *dp = &dests[sp->dest_first + j];
      if (find_dest(t, sp, dp->addr, dp->port) < 0 && --free_slots < 0) return -3;
    }
    if (slot_of[i] >= 0) {
      const struct dd_service *s = &t->svcs[slot_of[i]];
      for (m = 0; m < s->ndests; m++) {
        const struct dd_dest *d = &t->dests[s->dests[m]];
        int kept = 0;
        for (j = 0; j < sp->dest_count && !kept; j++)
          kept = dests[sp->dest_first + j].addr == d->addr && dests[sp->dest_first + j].port == d->port;
        if (!kept && d->refcnt == 0) free_slots++;
      }
    }
  }
  return 0;
}

int dd_set_services(struct dd_table *t, const struct dd_service_spec *svcs, uint32_t nsvc,
                    const struct dd_dest_spec *dests, uint32_t ndest) {
  int slot_of[DD_MAX_SERVICES];
  uint8_t keep[DD_MAX_SERVICES];
  uint32_t i, j;
  int rc = plan_services(t, svcs, nsvc, dests, ndest, slot_of, keep);
  if (rc) return rc;
  /* From here on nothing fails: the plan above proved every slot is there. */
  /* Services that disappear: their dests become unavailable (connections drop, templates age out). */
  for (j = 0; j < DD_MAX_SERVICES; j++) {
    struct dd_service *s = &t->svcs[j];
    if (!s->in_use || keep[j]) continue;
    for (i = 0; i < s->ndests; i++) {
      struct dd_dest *d = &t->dests[s->dests[i]];
      d->available = 0;
      d->svc = DD_NO_DEST;
      if (d->refcnt == 0) d->in_use = 0;
    }
    s->in_use = 0; s->ndests = 0;
  }
  for (i = 0; i < nsvc; i++) {
    const struct dd_service_spec *sp = &svcs[i];
    struct dd_service *s;
    uint16_t old[DD_MAX_DESTS_PER_SERVICE];
    int32_t oldw[DD_MAX_DESTS_PER_SERVICE];
    int oldn, changed = 0, rr_dest = -1, fresh = 0, rebind = 0;
    if (slot_of[i] < 0) {
      for (j = 0; j < DD_MAX_SERVICES && t->svcs[j].in_use; j++) {}
      if (j == DD_MAX_SERVICES) return -4;   /* unreachable after the plan; guards memory, not the table */
      s = &t->svcs[j];
      memset(s, 0, offsetof(struct dd_service, mh));
      s->rr_pos = -1; s->wrr_pos = -1;
      s->in_use = 1; s->vip = sp->vip; s->port = sp->port; s->protocol = sp->protocol; s->fwmark = sp->fwmark;
      slot_of[i] = (int)j;
      changed = 1;
      fresh = 1;
    }
    s = &t->svcs[slot_of[i]];
    s->spec_index = (int)i;
    if (s->scheduler != sp->scheduler) {
      /* ip_vs_bind_scheduler: a fresh scheduler state */
      changed = 1;
      s->rr_pos = -1; s->wrr_pos = -1; s->wrr_cw = 0;
      rr_dest = -2;
      rebind = !fresh;
    }
    s->scheduler = sp->scheduler; s->pmask = sp->pmask; s->persistent_ms = sp->persistent_ms;
    s->expire_quiescent_template = sp->expire_quiescent_template; s->expire_nodest_conn = sp->expire_nodest_conn;
    oldn = s->ndests;
    memcpy(old, s->dests, sizeof(uint16_t) * oldn);
    for (j = 0; j < (uint32_t)oldn; j++) oldw[j] = t->dests[old[j]].weight;
    if (rr_dest != -2 && s->rr_pos >= 0 && s->rr_pos < oldn) rr_dest = old[s->rr_pos];
    for (j = 0; j < (uint32_t)oldn; j++) t->dests[old[j]].available = 0;
    for (j = 0; j < sp->dest_count; j++) {
      const struct dd_dest_spec *dp = &dests[sp->dest_first + j];
      int k = find_dest(t, sp, dp->addr, dp->port);
      struct dd_dest *d;
      if (k < 0) {
        k = alloc_dest(t);
        if (k < 0) return -4;                  /* unreachable after the plan */
        d = &t->dests[k];
        d->in_use = 1; d->addr = dp->addr; d->port = dp->port;
        d->kvip = sp->vip; d->kport = sp->port; d->kproto = sp->protocol; d->kfwmark = sp->fwmark;
      }
      d = &t->dests[k];
      d->svc = (uint16_t)slot_of[i];
      if (d->weight != dp->weight) changed = 1;
      {
        int adding = 1;
        for (int m = 0; m < oldn; m++) if (old[m] == k) adding = 0;
        if (adding || dp->weight != 0) d->last_weight = dp->weight;   /* __ip_vs_update_dest */
        if (adding) changed = 1;
      }
      d->weight = dp->weight; d->available = 1; d->has_mac = dp->has_mac; d->failed = dp->failed; d->close_conns = dp->close_conns;
      memcpy(d->mac, dp->mac, 6);
      s->dests[j] = (uint16_t)k;
    }
    s->ndests = sp->dest_count;
    if (oldn != s->ndests || memcmp(old, s->dests, sizeof(uint16_t) * oldn)) changed = 1;
    for (j = 0; j < (uint32_t)oldn; j++) {
      struct dd_dest *d = &t->dests[old[j]];
      if (!d->available && d->refcnt == 0) d->in_use = 0;
    }
    /* RR keeps its cursor on the same dest; a removed cursor dest moves it to the nearest earlier survivor
     * of the old list (ip_vs_rr_del_dest), or to the head. */
    s->rr_pos = -1;
    if (rr_dest >= 0) {
      int at = -1, k2;
      for (j = 0; j < (uint32_t)oldn; j++) if (old[j] == rr_dest) at = (int)j;
      for (k2 = at; k2 >= 0 && s->rr_pos < 0; k2--)
        for (j = 0; j < s->ndests; j++)
          if (s->dests[j] == old[k2]) { s->rr_pos = (int)j; break; }
    }
    if (changed) {
      /* A rebound scheduler starts from init_service on the final list (cw was reset to 0); otherwise the diff
       * replays as the ipvsadm calls it stands for (a new service: -A, then one -a per dest). */
      if (rebind) dd_wrr_dest_changed(t, s);
      else dd_wrr_dests_changed(t, s, old, oldw, oldn);
      dd_sh_rebuild(t, s);
      if (s->scheduler == DD_SCHED_MH) dd_mh_rebuild(t, s);
    }
  }
  return 0;
}

uint32_t dd_stats(struct dd_table *t, struct dd_dest_stats *out, uint32_t max) {
  uint32_t n = 0, i, j;
  for (i = 0; i < DD_MAX_SERVICES; i++) {
    struct dd_service *s = &t->svcs[i];
    if (!s->in_use) continue;
    for (j = 0; j < s->ndests && n < max; j++) {
      struct dd_dest *d = &t->dests[s->dests[j]];
      struct dd_dest_stats *o = &out[n++];
      memset(o, 0, sizeof(*o));
      o->svc_index = (uint32_t)s->spec_index; o->addr = d->addr; o->port = d->port; o->weight = d->weight;
      o->active_conns = d->active; o->inact_conns = d->inact; o->persist_conns = d->persist;
      o->conns = d->conns; o->in_pkts = d->in_pkts; o->in_bytes = d->in_bytes;
    }
  }
  return n;
}

static void to_record(const struct dd_conn *c, struct dd_conn_record *r, int64_t expires) {
  memset(r, 0, sizeof(*r));
  r->expires_ms = expires;
  r->caddr = c->caddr; r->vaddr = c->vaddr; r->daddr = c->daddr; r->fwmark = c->fwmark;
  r->cport = c->cport; r->vport = c->vport; r->dport = c->dport;
  r->protocol = c->proto; r->state = c->state; r->template_ = (c->flags & DD_CF_TEMPLATE) ? 1 : 0;
}

uint32_t dd_connections(struct dd_table *t, int64_t now, struct dd_conn_record *out, uint32_t max) {
  uint32_t n = 0, i;
  dd_expire(t, now, DD_EXPIRE_ALL);   /* a read-out shows no entry whose expiry is due */
  for (i = 0; i < t->size && n < max; i++) {
    const struct dd_conn *c = &t->conns[i];
    if (c->flags & DD_CF_USED) to_record(c, &out[n++], c->expires - now);
  }
  return n;
}

/* Sync starts at the first drain. An entry made before it was never sent: due for a record at its next packet, as
 * a learnt one is (the per-packet check measures from a last record it does not have). The wheel runs a
 * millisecond ahead of the last packet's clock, so the mark is at least half a timeout before that packet. */
static void sync_start(struct dd_table *t) {
  uint32_t i, last = (uint32_t)(t->wheel_ms - 1);
  t->sync_enabled = 1;
  if (t->wheel_ms == INT64_MIN) return;
  for (i = 0; i < t->size; i++) {
    struct dd_conn *c = &t->conns[i];
    if (c->flags & DD_CF_USED) c->synced_ms = last - (c->timeout_ms >> 1);
  }
}

uint32_t dd_drain_sync(struct dd_table *t, struct dd_conn_record *out, uint32_t max) {
  uint32_t n = 0;
  if (!t->sync_enabled) sync_start(t);
  while (t->sync_count && n < max) {
    out[n++] = t->sync[t->sync_head];
    t->sync_head = (t->sync_head + 1) % DD_SYNC_RING;
    t->sync_count--;
  }
  return n;
}

static int find_svc_for(struct dd_table *t, const struct dd_conn_record *r) {
  int i;
  for (i = 0; i < DD_MAX_SERVICES; i++) {
    const struct dd_service *s = &t->svcs[i];
    if (!s->in_use) continue;
    if (r->template_ && s->fwmark && r->protocol == 0 && r->vaddr == s->fwmark) return i;
    if (s->vip == r->vaddr && (s->fwmark || (s->protocol == r->protocol && (s->port == r->vport || r->vport == 0))))
      return i;
  }
  return -1;
}

uint32_t dd_apply_sync(struct dd_table *t, const struct dd_conn_record *in, uint32_t n, int64_t now) {
  uint32_t k, applied = 0;
  dd_expire(t, now, DD_EXPIRE_BUDGET);
  for (k = 0; k < n; k++) {
    const struct dd_conn_record *r = &in[k];
    uint32_t ci = DD_NIL, i;
    int si = find_svc_for(t, r), di = -1, fresh = 0;
    struct dd_conn *c;
    if (si < 0 || r->state >= DD_S_COUNT) continue;
    for (i = 0; i < t->svcs[si].ndests; i++) {
      struct dd_dest *d = &t->dests[t->svcs[si].dests[i]];
      if (d->addr == r->daddr && (d->port == r->dport || r->template_)) { di = t->svcs[si].dests[i]; break; }
    }
    if (di < 0) continue;
    ci = dd_lookup(t, r->template_, r->protocol, r->caddr, r->cport, r->vaddr, r->vport, now);
    /* The active rescheduled this client network (its template's dest failed or left): the old template is
     * invalidated as there, so a takeover sends the client where the active did. */
    if (ci != DD_NIL && r->template_ && t->conns[ci].dest != (uint32_t)di) {
      dd_template_invalidate(t, ci);
      ci = DD_NIL;
    }
    if (ci == DD_NIL) {
      ci = dd_conn_insert(t, r, (uint32_t)di, (uint16_t)si, now);
      if (ci == DD_NIL) break;
      fresh = 1;
    }
    c = &t->conns[ci];
    if (!(c->flags & DD_CF_TEMPLATE)) {
      int was = !(c->flags & DD_CF_INACTIVE);
      int act = r->protocol == 6 && (r->state == DD_S_ESTABLISHED || r->state == DD_S_SYN_SENT ||
                                     r->state == DD_S_SYN_RECV || r->state == DD_S_SYNACK);
      struct dd_dest *d = &t->dests[c->dest];
      if (was && !act) { d->active--; d->inact++; c->flags |= DD_CF_INACTIVE; }
      else if (!was && act) { d->active++; d->inact--; c->flags &= ~DD_CF_INACTIVE; }
    }
    c->state = r->state;
    if (r->state == DD_S_ESTABLISHED) dd_conn_established(t, ci);
    c->timeout_ms = r->expires_ms > 0 ? (uint32_t)r->expires_ms : t->timeouts_ms[r->state];
    /* Learnt and not sent from here since: due for a record at its first packet here (the flow moved to this
     * director), as the other peers' copies are as old as the sender's last record and the sender no longer sees
     * the flow. Marked at every record, as each may change the timeout the per-packet check halves. */
    if (fresh) c->flags |= DD_CF_LEARNT;
    if (c->flags & DD_CF_LEARNT) c->synced_ms = (uint32_t)now - (c->timeout_ms >> 1);
    dd_conn_rearm(t, ci, now);
    applied++;
  }
  return applied;
}
