/* One direction of a relayed connection shaped (shape.c): latency_ms and
 * jitter_ms, bandwidth, slice and slice_ms (engine/rules.h, struct
 * cr_shape). forward.c reads into it and writes out of it; a way with no
 * shaping has none and does not come here.
 *
 * Bytes read are held in a bounded queue of timestamped chunks, in order;
 * while it is full, or the bandwidth's tokens are spent, nothing is read,
 * so the kernel's queues fill and the sender's writes block (real
 * back-pressure). */
#ifndef CR_RELAY_SHAPE_H
#define CR_RELAY_SHAPE_H

#include "engine/rules.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct cr_shaper;

/* A shaper writing to fd (TCP_NODELAY set there for slice); NULL when
 * memory is out. now: monotonic seconds. */
struct cr_shaper *cr_shaper_new(const struct cr_shape *s, int fd, double now);
void cr_shaper_free(struct cr_shaper *sh);
/* How many bytes may be read now (0: none, see cr_shaper_wake), into *at. */
size_t cr_shaper_room(struct cr_shaper *sh, double now, char **at);
/* n bytes were read into *at: held until they are due. */
void cr_shaper_took(struct cr_shaper *sh, size_t n, double now);
/* Writes on fd what is due (a piece of at most slice bytes, then waits
 * slice_ms): bytes written, 0 when nothing was due, -1 on an error (errno;
 * EAGAIN: the socket is full). */
ssize_t cr_shaper_flush(struct cr_shaper *sh, int fd, double now);
/* Bytes held, not written yet. */
size_t cr_shaper_held(const struct cr_shaper *sh);
/* Whether a write may be made now. */
bool cr_shaper_due(const struct cr_shaper *sh, double now);
/* Seconds until a held piece is due or tokens allow a read (reading: the
 * way still reads); < 0: nothing to wait for. */
double cr_shaper_wake(const struct cr_shaper *sh, double now, bool reading);

#endif
