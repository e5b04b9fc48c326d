/* Inside the supervisor of run --seccomp (supervise.h): the state one run
 * keeps, passed to every part as `sv`, and what the parts offer each other.
 *
 *   filter.c   the filter, installed in the child before it runs the program
 *   procs.c    the processes and threads seen, each with its rule counters;
 *              reading their memory
 *   rules.c    the rules in force, by generation, and their reload
 *   later.c    connects whose outcome the program learns later (SO_ERROR,
 *              a second connect)
 *   netns.c    drops for sockets of another network namespace
 *   act.c      answering a call: passing it, failing it on the program's
 *              own socket, or connecting that socket to the relay (faults
 *              after connect)
 *   relayed.c  the sockets connected to the relay, and their destinations
 *   serve.c    deciding each trapped call, the threads, cr_supervise */
#ifndef CR_SECCOMP_H
#define CR_SECCOMP_H

#include "engine/decide.h"
#include "engine/inflight.h"
#include "engine/logsink.h"
#include "engine/outcome.h"
#include "engine/reload.h"
#include "engine/rules.h"
#include "engine/shared.h"

#include <linux/seccomp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

/* The rule set in force (reloaded when the file changes), with a count of
 * the calls still being acted on under it. */
struct cr_generation {
	struct cr_ruleset *rs;
	atomic_int refs; /* one while current, plus one a call being acted on */
	struct cr_generation *older;
};

struct cr_proc {
	pid_t tgid;
	char exe[256]; /* another program (exec) is another process */
	char comm[16];
	struct cr_generation *gen;
	struct cr_rule_state *states;
	int pidfd;
	int memfd;         /* its /proc/PID/mem, opened at the first read */
	uint8_t image[16]; /* its program image's AT_RANDOM bytes: new at each exec */
	bool exec_pending; /* an exec was trapped: did it happen? */
	unsigned long last_used;
};

#define CR_MAX_PROCS 1024

/* Which process a thread belongs to, read from /proc once and then trusted
 * for a second (an exec, which the filter reports, forgets it at once). */
struct cr_thread {
	pid_t tid;
	uint16_t proc;
	double checked;
};
#define CR_MAX_THREADS 4096 /* a power of two */

struct cr_sv {
	int listener;
	struct seccomp_notif_sizes sizes;
	bool so_error_trapped; /* the filter hands getsockopt(SO_ERROR) over */
	bool peer_trapped;     /* and getpeername (faults after connect) */
	const char *relay;     /* the relay's socket (faults after connect), or NULL */
	/* the rules (rules.c) */
	const char *config;   /* NULL: no file, audit only */
	char start_dir[4096]; /* a relative log.file is joined with it (run's folder) */
	struct cr_watch watch;
	struct cr_generation *current; /* newest first, linked to older ones */
	double next_look;
	struct cr_shared file_state, run_state; /* engine/shared.h */
	uint64_t seen_generation;
	struct cr_log_state log;
	/* the processes (procs.c) */
	struct cr_proc procs[CR_MAX_PROCS];
	struct cr_thread threads[CR_MAX_THREADS];
	unsigned long clock;
	/* the threads serving (serve.c) */
	pthread_mutex_t state_lock; /* deciding: processes, rules, reload */
	pthread_mutex_t count_lock;
	pthread_cond_t none_left;
	unsigned threads_alive, threads_receiving; /* under count_lock */
	atomic_bool serving_done;
	bool unwatched;         /* no thread watches for the end: a receiver polls before RECV */
	atomic_int child_pidfd; /* the program, until reaped (serve.c: ended) */
	pid_t child;
	int child_status; /* once reaped */
};

/* One trapped call, from its decision to its answer. */
struct cr_call {
	uint64_t id;
	int nr;
	int fd;  /* the program's descriptor number */
	int dup; /* our duplicate of its socket, or -1 */
	int sotype, domain;
	bool nonblock;
	struct sockaddr_storage sa;
	socklen_t salen;
	struct cr_dest dest;
	pid_t pid;
	char comm[16];
	struct cr_verdict v;
	const char *rule; /* the deciding rule's name (NULL for none), in gen's rule set */
	struct cr_generation *gen;
};

/* The attempt a call stands for, as its line names it. */
static inline struct cr_attempt cr_sv_attempt_of(const struct cr_call *c)
{
	return (struct cr_attempt){ .rule = c->rule,
				    .action = c->v.action,
				    .dry_run = cr_verdict_dry_run(&c->v),
				    .level = c->v.level,
				    .pid = c->pid,
				    .comm = c->comm,
				    .dest = &c->dest,
				    .sotype = c->sotype };
}

/* A connect whose outcome the program learns later (later.c). */
struct cr_later {
	pid_t tgid;
	ino_t ino;
	unsigned long seq;    /* the order kept in */
	struct cr_inflight f; /* err 0: a pass under audit, its line still to write */
};

/* filter.c */
/* In the child: installs the filter (trapping SO_ERROR, getpeername, or
 * not), hands the listener to the parent over sock, runs the program.
 * Never returns. */
void cr_sv_child(int sock, char **prog, bool trap_so_error, bool trap_peer) __attribute__((noreturn));
/* In the parent: the listener, or -1 with what the child wrote in msg. */
int cr_sv_recv_listener(int sock, char *msg, size_t size);

/* rules.c */
int cr_sv_rules_start(struct cr_sv *sv, const char *config, char *err, size_t errsize);
/* At most once a second: a changed file becomes the new generation. */
void cr_sv_maybe_reload(struct cr_sv *sv, double now);
void cr_generation_release(struct cr_generation *g);

/* procs.c */
/* The process a trapped thread belongs to, on the current generation. */
struct cr_proc *cr_sv_proc_of(struct cr_sv *sv, pid_t tid, double now);
/* An exec is under way in tid's process. */
void cr_sv_forget_process_of(struct cr_sv *sv, pid_t tid);
bool cr_sv_uses_generation(const struct cr_sv *sv, const struct cr_generation *g);
bool cr_sv_read_memory(struct cr_proc *p, pid_t tid, uint64_t addr, void *buf, size_t len);

/* later.c */
bool cr_later_any(void);
void cr_later_keep(const struct cr_later *e);
/* Keeps c's record: err is the simulated errno (its line written already),
 * 0 for a pass under audit (its line written when settled). */
void cr_later_put(const struct cr_call *c, int err);
/* Takes the entry of (tgid, socket) into *out, if there is one. */
bool cr_later_take(pid_t tgid, int dup, struct cr_later *out);

/* netns.c */
/* The drop listener's address (engine/drop.h) in the network namespace of
 * the program's socket dup; 0 when none can be had there. */
socklen_t cr_sv_drop_address(int dup, const struct cr_dest *d, int sa_family, struct sockaddr_storage *out);
/* Whether the socket dup of process tgid is in the supervisor's network
 * namespace (that of the relay's loopback listeners). */
bool cr_sv_own_netns(int dup, pid_t tgid);

/* relayed.c */
/* c's socket was connected to the relay's port: kept for getpeername. */
void cr_relayed_keep(const struct cr_call *c, uint16_t port);
bool cr_relayed_any(void);
/* Whether dup's socket is one connected to the relay. */
bool cr_relayed_is(int dup);
/* The destination a relayed socket was connected for, and its length. */
bool cr_relayed_peer(int dup, struct sockaddr_storage *peer, socklen_t *len);

/* act.c */
void cr_sv_respond(const struct cr_sv *sv, uint64_t id, long val, int err, bool cont);
void cr_sv_act(struct cr_sv *sv, struct cr_call *c);
/* Whether the supervisor may make a passing call's connect itself, on the
 * program's socket, to learn its outcome. Never for a unix socket: the
 * kernel resolves its path in the caller's working directory, root and mount
 * namespace, checks the caller's credentials, and gives the server the
 * caller's pid and credentials (SO_PEERCRED). Made by the supervisor, a
 * relative path would reach another socket or none, a program run as nobody
 * would reach a root-only socket, and its server would see root. A unix
 * connect that passes is always the program's own (CONTINUE), unaudited in
 * this mode. TCP connects depend on the socket alone (its namespace, its
 * cgroup, its owner), not on who makes them. */
bool cr_sv_may_connect_for(const struct cr_call *c);
void cr_sv_later_answered(struct cr_sv *sv, const struct cr_later *e, const struct cr_proc *p,
			  const struct cr_settled *s);
/* getsockopt(SO_ERROR) on a socket with an entry. */
void cr_sv_so_error_call(struct cr_sv *sv, const struct seccomp_notif *req, double now);
/* getpeername() (trapped with faults after connect): for a relayed
 * socket, the destination the program asked for; the kernel answers any
 * other. */
void cr_sv_getpeername_call(struct cr_sv *sv, const struct seccomp_notif *req, double now);

#endif
