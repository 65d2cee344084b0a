/* Scheduler entry points shared by core.c (policy updates) and the per-packet path. */
#ifndef DIRECTORD_SCHED_H
#define DIRECTORD_SCHED_H
#include "core.h"

uint32_t dd_schedule(struct dd_table *t, struct dd_service *s, uint32_t saddr);
void dd_wrr_dest_changed(struct dd_table *t, struct dd_service *s);
void dd_wrr_dests_changed(struct dd_table *t, struct dd_service *s, const uint16_t *old, const int32_t *oldw, int oldn);
void dd_sh_rebuild(struct dd_table *t, struct dd_service *s);
void dd_mh_rebuild(struct dd_table *t, struct dd_service *s);

#endif
