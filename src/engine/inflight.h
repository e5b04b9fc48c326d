/* A connect whose outcome the program learns later: a non-blocking connect
 * under way, whose end comes through getsockopt(SO_ERROR) or a repeated
 * connect(). Both front ends keep one such record a socket (the library in
 * its descriptor table, the supervisor by process and inode) and settle it
 * with the same call, so that the outcome's line carries every field of the
 * connect's own line, whole, and the program sees the simulated errno in
 * place of the refusal the kernel holds. */
#ifndef CR_INFLIGHT_H
#define CR_INFLIGHT_H

#include "addr.h"
#include "outcome.h"

#include <stdbool.h>
#include <stdint.h>

struct cr_inflight {
	uint8_t family, mapped, sotype, action;
	uint16_t port;
	int16_t err; /* simulated: the errno the program must see; 0: the kernel's own */
	uint32_t scope_id;
	uint8_t addr[16];
	int8_t level; /* the attempt's log level */
	bool dry_run;
	bool logged;                     /* its outcome's line is written already (a simulated failure, a drop) */
	char rule[CR_RULE_NAME_MAX + 1]; /* "" for none */
};

/* The record of attempt a (a TCP connect, under way): err is the simulated
 * errno (0: the kernel's own), logged whether its line is written. */
void cr_inflight_make(struct cr_inflight *f, const struct cr_attempt *a, int err, bool logged);

/* Is f an attempt to d (a repeated connect to the same destination)? */
bool cr_inflight_same_dest(const struct cr_inflight *f, const struct cr_dest *d);

/* The attempt f stands for, to write its outcome's line: dest is filled and
 * pointed to; pid and comm are the caller's to set. */
struct cr_attempt cr_inflight_attempt(const struct cr_inflight *f, struct cr_dest *dest);

/* What a question the program asks of the socket comes to. */
struct cr_settled {
	int seen;     /* the errno the program gets: the simulated one in place of the sink's refusal */
	bool settled; /* the attempt has its outcome: the record goes */
	int outcome;  /* that outcome, as its line gives it (0: connected) */
};

/* The kernel answered kernel_err (0: none) to a repeated connect
 * (from_connect) or as SO_ERROR's value. A connect's EALREADY and
 * EINPROGRESS are states; its EISCONN is the connection made. SO_ERROR's 0
 * means connected only if the socket has a peer: `connected` says so (the
 * caller asks the kernel only when cr_inflight_wants_peer). */
struct cr_settled cr_inflight_settle(const struct cr_inflight *f, int kernel_err, bool from_connect, bool connected);

/* Whether an SO_ERROR of 0 needs the peer looked up: a connection's line is
 * wanted (level all, or a dry run's) and not written yet. */
static inline bool cr_inflight_wants_peer(const struct cr_inflight *f)
{
	return !f->logged && f->level >= cr_level_needed(0, f->dry_run);
}

#endif
