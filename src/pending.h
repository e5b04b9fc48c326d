/* Connects in flight, per descriptor: what a non-blocking connect aimed at,
 * so that its outcome, learned later through getsockopt(SO_ERROR) or a
 * repeated connect(), is logged with its destination, once; and so that a
 * simulated failure other than a refusal is reported with its own errno.
 *
 * A fixed table indexed by descriptor (up to CR_PENDING_MAX): no allocation,
 * no lock. Each slot is claimed with an atomic state, so one thread logs an
 * outcome once. A slot is cleared when its descriptor is closed or replaced
 * (close, dup2, dup3, close_range) and whenever a new socket is made with its
 * number (socket, accept), so a reused number never inherits a destination. */
#ifndef CR_PENDING_H
#define CR_PENDING_H

#include "addr.h"
#include "rules.h"

#include <stdbool.h>
#include <stdint.h>

#define CR_PENDING_MAX 65536

struct cr_pending {
	uint8_t family, mapped, sotype, action;
	uint16_t port;
	int16_t err;             /* simulated: the errno the program must see; 0: real */
	uint8_t addr[16];
	int8_t level;            /* log level for this attempt's outcome */
	bool dry_run;
	bool logged;             /* the outcome was logged already (simulated at connect time) */
	char rule[37];           /* the deciding rule's name, "" for none */
};

/* Records an attempt in flight on fd. */
void cr_pending_set(int fd, const struct cr_pending *p);
/* Takes the record of fd (it is cleared): true if there was one. Only one
 * caller gets it. */
bool cr_pending_take(int fd, struct cr_pending *out);
/* Looks without taking. */
bool cr_pending_peek(int fd, struct cr_pending *out);
void cr_pending_clear(int fd);
void cr_pending_clear_range(unsigned first, unsigned last);
/* Cheap test, for the hooks' fast paths. */
bool cr_pending_maybe(int fd);

/* Does p record an attempt to d? */
bool cr_pending_same_dest(const struct cr_pending *p, const struct cr_dest *d);
void cr_pending_dest(const struct cr_pending *p, struct cr_dest *d);

#endif
