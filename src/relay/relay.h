/* The relay: faults after connect (reset, close, stall) made by the
 * kernel. A front end of its own: it includes the engine only; the
 * command hosts it, for its program (cli/run.c) or as a service for every
 * program of the machine (cli/relay.c).
 *
 * The library asks it, over a unix socket in a private folder, for each
 * connect a rule with reset, close or stall decided (engine/relay_wire.h).
 * The relay connects to the real destination first; only when that
 * succeeds does the program's socket connect to a loopback listener of the
 * relay's, made for that one connection, and the relay forwards between the
 * two sockets with the fault applied (forward.c): a reset is a close with
 * SO_LINGER 0 (a real RST), a close a real FIN, a stall bytes left unread
 * (real back-pressure). The program's socket is a real TCP socket; every
 * way of reading it sees real events.
 *
 * Each connection is served by a thread of its own; their number is
 * bounded by the descriptors the process may hold (four while a
 * connection is made, two once made). A relay that is full answers so, and
 * the connection passes untouched, counted. */
#ifndef CR_RELAY_H
#define CR_RELAY_H

#include "engine/logsink.h"
#include "engine/relay_wire.h"

#include <stdatomic.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct cr_relay;
struct cr_fd_budget;

/* Makes the socket (in a new private folder under $XDG_RUNTIME_DIR or
 * /tmp), listening; asks wait in its queue until cr_relay_start. The log
 * settings are the rules'; log is copied. NULL with a message in err. */
struct cr_relay *cr_relay_open(const struct cr_log_conf *log, char *err, size_t errsize);
/* The service (connrefuse relay): listens at path, whose missing folders
 * it makes; a socket there that nobody answers at is removed, one a relay
 * answers at refused. The socket is mode 0666 and every user's asks are
 * taken: its folder's rights say who may ask. NULL with a message in err. */
struct cr_relay *cr_relay_listen(const char *path, const struct cr_log_conf *log, char *err, size_t errsize);
/* connrefuse run's relay: its lines go to the sinks of the rules file
 * config (absolute) as last reloaded, a relative log.file joined with
 * start_dir (or none). Before cr_relay_start. */
void cr_relay_follow(struct cr_relay *r, const char *config, const char *start_dir);
/* The descriptors its connections may hold at once (budget.c). */
unsigned cr_relay_max_fds(const struct cr_relay *r);
/* Starts serving (a thread; after any fork). -1 with a message in err. */
int cr_relay_start(struct cr_relay *r, char *err, size_t errsize);
/* The socket's path, for CR_RELAY_ENV. */
const char *cr_relay_path(const struct cr_relay *r);
/* Connections relayed so far, and those passed untouched because it was full. */
unsigned long cr_relay_served(const struct cr_relay *r);
unsigned long cr_relay_full(const struct cr_relay *r);
/* Removes the socket and its private folder (a service's stays): no new ask finds it. Connections
 * still open stay served until the process ends (under connrefuse run, the
 * program that made them has ended by then); a pass that shapes is waited
 * for up to a second, so that its line, written at its end, is not lost. */
void cr_relay_close(struct cr_relay *r);

/* Connections whose line is still to come, and a wait until there are none. */
struct cr_relay_pending {
	pthread_mutex_t lock;
	pthread_cond_t none; /* on CLOCK_MONOTONIC */
	unsigned n;
};

static inline void cr_relay_pending_add(struct cr_relay_pending *p, int by)
{
	pthread_mutex_lock(&p->lock);
	p->n += (unsigned)by;
	if (!p->n)
		pthread_cond_broadcast(&p->none);
	pthread_mutex_unlock(&p->lock);
}

/* ---- forward.c: one connection, its fault applied ---- */

struct cr_relay_conn {
	int prog, up;            /* the program's connection (accepted), the destination's */
	struct cr_relay_ask ask; /* what the library asked for */
	pid_t pid;               /* the program's process (SO_PEERCRED of the ask; the ask's own
				   * when this process asked: the seccomp supervisor) */
	uid_t uid;               /* the asker's user (SO_PEERCRED): the line's when the process is gone */
	double start;            /* monotonic seconds: the program's connect */
	const struct cr_log_conf *log;
	struct cr_log_state *log_state;
	struct cr_relay_pending *shaping; /* the relay's passes that shape, not ended yet (their line comes at the end) */
};

/* Forwards both ways until both ends are done, firing the fault when its
 * time comes; logs the line when it fires. Closes both descriptors. */
void cr_relay_forward(struct cr_relay_conn *c);

/* ---- budget.c: the descriptors the relay may hold ---- */

struct cr_fd_budget {
	atomic_uint used; /* taken: FDS_PER_CONN a connection (relay.c) */
	unsigned max;     /* the process's limit less a margin */
};

/* Takes n if they fit: true; given back once closed. */
bool cr_fd_budget_take(struct cr_fd_budget *b, unsigned n);
void cr_fd_budget_give(struct cr_fd_budget *b, unsigned n);

#endif
