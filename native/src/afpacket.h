/* The AF_PACKET packet loop: start/stop `threads` forwarding threads (one PACKET_FANOUT group) over one interface,
 * all driven by one dd_table. */
#ifndef DIRECTORD_AFPACKET_H
#define DIRECTORD_AFPACKET_H
#include <stddef.h>
#include <stdint.h>
#include "core.h"

struct dd_loop;

int64_t dd_now_ms(void);
int dd_loop_start(struct dd_loop **out, struct dd_table *t, const char *ifname, const uint8_t mac[6],
                  const char *filter, int vnet, int v2, uint32_t spin_us, unsigned threads, char *err, size_t errlen);
int dd_loop_set_filter(struct dd_loop *l, const char *filter, char *err, size_t errlen);
/* afpacket-filter.c: compile `filter` (libpcap syntax) and attach it to `sock`; on a VLAN, tagged frames only. */
int dd_attach_capture_filter(int sock, uint16_t vlan, const char *filter, char *err, size_t errlen);
void dd_loop_stop(struct dd_loop *l);
/* Frames the kernel dropped because the ring was full since the last call (PACKET_STATISTICS resets). */
uint64_t dd_loop_ring_drops(struct dd_loop *l);
unsigned dd_loop_thread_frames(const struct dd_loop *l, uint64_t *out, unsigned max);

#endif
