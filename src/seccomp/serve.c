/* run --seccomp (supervise.h): deciding each trapped call, and the threads
 * that serve the listener.
 *
 * Idle threads wait in the listener's RECV; the kernel hands each trapped
 * call to one of them, which decides (under state_lock: the process table,
 * the rules, a reload) and answers it. A call that must wait (a delay, or a
 * blocking connect the supervisor makes on the program's behalf to learn
 * its outcome for the audit) is acted on by the thread that received it,
 * after it made sure another thread is left receiving, so that one slow
 * connect never holds up the others. */
#define _GNU_SOURCE
#include "seccomp.h"
#include "seccomp_sync.h"
#include "supervise.h"
#include "engine/child.h"
#include "engine/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ---- deciding ---- */

/* Reaches the program's socket: a duplicate and its blocking mode, and
 * with `full` its type and family too. False when it is not a socket we
 * can act on (the kernel answers then). */
static bool take_socket(struct cr_call *c, const struct cr_proc *p, bool full)
{
	if (c->dup < 0) {
		if (p->pidfd < 0 || (c->dup = (int)syscall(SYS_pidfd_getfd, p->pidfd, c->fd, 0)) < 0)
			return false;
		int fl = fcntl(c->dup, F_GETFL);
		if (fl < 0) {
			close(c->dup);
			c->dup = -1;
			return false;
		}
		c->nonblock = fl & O_NONBLOCK;
	}
	if (full && !c->domain) {
		socklen_t tl = sizeof c->sotype, dl = sizeof c->domain;
		if (getsockopt(c->dup, SOL_SOCKET, SO_TYPE, &c->sotype, &tl) != 0 ||
		    getsockopt(c->dup, SOL_SOCKET, SO_DOMAIN, &c->domain, &dl) != 0) {
			close(c->dup);
			c->dup = -1;
			return false;
		}
	}
	return true;
}

static void drop_socket(struct cr_call *c)
{
	if (c->dup >= 0)
		close(c->dup);
	c->dup = -1;
}

enum next { DONE, ACT_NOW, ACT_LATER };

/* Lets the call continue in the kernel, untouched. */
static enum next pass_unseen(struct cr_sv *sv, struct cr_call *c)
{
	drop_socket(c);
	cr_sv_respond(sv, c->id, 0, 0, true);
	return DONE;
}

/* The destination, from the program's memory: false for an address the
 * kernel would reject or one we cannot read (the kernel answers then). */
static bool read_destination(const struct seccomp_notif *req, struct cr_proc *p, struct cr_call *c)
{
	uint64_t addr, len;
	if (c->nr == __NR_connect) {
		addr = req->data.args[1];
		len = req->data.args[2];
	} else if (c->nr == __NR_sendto) {
		addr = req->data.args[4];
		len = req->data.args[5];
	} else {
		struct msghdr mh;
		if (!cr_sv_read_memory(p, req->pid, req->data.args[1], &mh, sizeof mh))
			return false;
		addr = (uintptr_t)mh.msg_name;
		len = mh.msg_namelen;
	}
	if (!addr || len < sizeof(sa_family_t) || len > sizeof c->sa ||
	    !cr_sv_read_memory(p, req->pid, addr, &c->sa, len) ||
	    cr_dest_from_sockaddr((struct sockaddr *)&c->sa, (socklen_t)len, &c->dest) != 0)
		return false;
	c->salen = (socklen_t)len;
	return true;
}

/* A second connect() to a socket with an entry: the kernel answers; the
 * program gets the simulated errno in place of its refusal, and a pass
 * under audit is logged once settled. False: not such a call. */
static bool second_connect(struct cr_sv *sv, struct cr_proc *p, struct cr_call *c)
{
	struct cr_later e;
	if (!cr_later_any() || c->nr != __NR_connect || !cr_sv_may_connect_for(c) || !take_socket(c, p, false) ||
	    !cr_later_take(p->tgid, c->dup, &e))
		return false;
	if (!cr_inflight_same_dest(&e.f, &c->dest))
		return false; /* another destination: a new attempt, the entry gone */
	int rc = connect(c->dup, (struct sockaddr *)&c->sa, c->salen);
	struct cr_settled s = cr_inflight_settle(&e.f, rc == 0 ? 0 : errno, true, false);
	cr_sv_later_answered(sv, &e, p, &s); /* before the answer: act.c, log_call */
	cr_sv_respond(sv, c->id, rc, s.seen, false);
	drop_socket(c);
	return true;
}

/* A fault after connect applies to a connect() (not TCP Fast Open's) on a
 * TCP socket of the address's family, in the namespace of the relay's
 * loopback listeners; the rest passes, as in the library. */
static bool relayable(struct cr_call *c, const struct cr_proc *p)
{
	return c->nr == __NR_connect && c->dest.family != CR_FAM_UNIX && take_socket(c, p, true) &&
	       c->sotype == SOCK_STREAM && c->domain == c->sa.ss_family && cr_sv_own_netns(c->dup, p->tgid);
}

/* After the verdict: whether the call needs acting on, and by whom. */
static enum next what_next(struct cr_sv *sv, struct cr_proc *p, struct cr_call *c)
{
	bool audit = c->v.level >= CR_LEVEL_FAILURES && c->nr == __NR_connect && cr_sv_may_connect_for(c);
	if (c->v.relay)
		c->v.relay = relayable(c, p);
	/* The quiet path. (Were the call gone and its thread's number taken
	 * by another process since, the answer would only fail.) */
	if (!c->v.simulate && !c->v.drop && !c->v.delay_ms && !c->v.relay && !audit)
		return pass_unseen(sv, c);
	/* Before acting: the memory read was the calling thread's, still
	 * waiting in that very call. */
	if (ioctl(sv->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &c->id) != 0) {
		drop_socket(c);
		return DONE;
	}
	if (c->v.drop) {
		/* TCP only, of the address's family; the rest passes, as in the
		 * library. */
		if (!take_socket(c, p, true) || c->domain != c->sa.ss_family || c->sotype != SOCK_STREAM ||
		    c->dest.family == CR_FAM_UNIX)
			return pass_unseen(sv, c);
	} else if (c->v.simulate) {
		/* Another family than the address's: the kernel's own answer,
		 * as the library gives it. */
		if (take_socket(c, p, true) && c->domain != c->sa.ss_family)
			return pass_unseen(sv, c);
	} else if (!c->v.relay && (!take_socket(c, p, false) || (c->nonblock && !sv->so_error_trapped)) &&
		   !c->v.delay_ms) {
		/* A pass whose outcome the program learns later: unseen here. */
		return pass_unseen(sv, c);
	}
	atomic_fetch_add(&c->gen->refs, 1);
	bool waits = c->v.delay_ms || c->v.relay || (!c->v.simulate && !c->nonblock && c->dup >= 0);
	/* (A blocking drop waits for the program's own timeout, in the thread
	 * that acts on it; a relayed connect for the relay's connect to the
	 * destination.) */
	return waits ? ACT_LATER : ACT_NOW;
}

/* Reads the call and decides. The quiet path (a pass that nothing needs to
 * see) answers at once without touching the program's socket. */
static enum next decide_call(struct cr_sv *sv, const struct seccomp_notif *req, struct cr_call *c)
{
	*c = (struct cr_call){ .id = req->id, .nr = req->data.nr, .fd = (int)req->data.args[0], .dup = -1 };
	double now = cr_monotonic_now();
	if (c->nr == __NR_execve || c->nr == __NR_execveat) {
		cr_sv_forget_process_of(sv, req->pid);
		return pass_unseen(sv, c);
	}
	if (c->nr == __NR_getsockopt) {
		cr_sv_so_error_call(sv, req, now);
		return DONE;
	}
	if (c->nr == __NR_getpeername) {
		cr_sv_getpeername_call(sv, req, now);
		return DONE;
	}
	cr_sv_maybe_reload(sv, now);
	/* Nothing to match and nothing to log: the destination is not read. */
	const struct cr_ruleset *rs = sv->current->rs;
	if (!rs->nrules && rs->default_action == CR_ACT_PASS && rs->log.level < CR_LEVEL_FAILURES && !cr_later_any())
		return pass_unseen(sv, c);
	struct cr_proc *p = cr_sv_proc_of(sv, req->pid, now);
	if (!p || !read_destination(req, p, c))
		return pass_unseen(sv, c);
	c->pid = p->tgid;
	memcpy(c->comm, p->comm, sizeof c->comm);
	c->gen = sv->current;
	if (second_connect(sv, p, c))
		return DONE;
	/* A connect again on a socket connected to the relay: the kernel's
	 * answer (EALREADY, EISCONN), not a new attempt. */
	if (cr_relayed_any() && c->nr == __NR_connect && take_socket(c, p, false) && cr_relayed_is(c->dup))
		return pass_unseen(sv, c);
	if (c->gen->rs->needs_sotype && c->dest.family != CR_FAM_UNIX)
		take_socket(c, p, true);
	struct cr_query q = {
		.dest = &c->dest, .sotype = c->sotype, .comm = p->comm, .exe = p->exe, .now = now, .states = p->states
	};
	cr_decide(c->gen->rs, &q, &c->v);
	c->rule = c->v.rule ? cr_rule_name(c->gen->rs, c->v.rule) : NULL;
	return what_next(sv, p, c);
}

static void finish(struct cr_call *c)
{
	drop_socket(c);
	cr_generation_release(c->gen);
}

/* ---- the threads ---- */

/* Every idle thread waits in RECV: the kernel hands each call to one of
 * them. Deciding is done under state_lock; acting on a call is not. A
 * thread about to wait (a delay, or a blocking connect made for the audit)
 * first makes sure another one is left receiving. */

static void *serve(void *arg);

static void spawn_thread(struct cr_sv *sv)
{
	pthread_t t;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_mutex_lock(&sv->count_lock);
	if (pthread_create(&t, &attr, serve, sv) == 0)
		sv->threads_alive++;
	pthread_mutex_unlock(&sv->count_lock);
	pthread_attr_destroy(&attr);
}

/* The end of the program and of every descendant: the listener hangs up
 * when no process is left under the filter (Linux 5.8). RECV alone is no
 * sign of it: 6.1 (Debian 12's) leaves it waiting for good, later kernels
 * end it with ENOENT. And 6.1 counts a process until it is reaped: the
 * program, run's child, is reaped here once it exits (its status kept).
 * Waits for events on the listener (POLLIN: a call to receive; 0: the
 * hang-up only); true at the hang-up. */
static bool ended(struct cr_sv *sv, short events)
{
	for (;;) {
		int child = atomic_load(&sv->child_pidfd);
		struct pollfd pf[2] = { { sv->listener, events, 0 }, { child, POLLIN, 0 } };
		int n = poll(pf, child >= 0 ? 2 : 1, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || (pf[0].revents & (POLLHUP | POLLERR | POLLNVAL)))
			return true;
		int pidfd = pf[1].revents ? atomic_exchange(&sv->child_pidfd, -1) : -1;
		if (pidfd >= 0) { /* (one thread reaps, whichever polled) */
			sv->child_status = cr_child_wait(sv->child);
			close(pidfd);
		}
		if (pf[0].revents)
			return false;
	}
}

/* One RECV; false when it got no call. An error with no process left under
 * the filter ends the serving. *alone: no other thread is receiving. */
static bool receive(struct cr_sv *sv, struct seccomp_notif *req, bool *alone)
{
	memset(req, 0, sv->sizes.seccomp_notif);
	if (sv->unwatched && ended(sv, POLLIN)) {
		atomic_store(&sv->serving_done, true);
		return false;
	}
	pthread_mutex_lock(&sv->count_lock);
	sv->threads_receiving++;
	pthread_cond_broadcast(&sv->none_left); /* serve_all does not wait for a thread parked here */
	pthread_mutex_unlock(&sv->count_lock);
	int rc = ioctl(sv->listener, SECCOMP_IOCTL_NOTIF_RECV, req), err = errno;
	pthread_mutex_lock(&sv->count_lock);
	*alone = --sv->threads_receiving == 0;
	pthread_mutex_unlock(&sv->count_lock);
	if (rc == 0)
		return true;
	/* ENOENT with nothing: no process is left under the filter (or the
	 * call went away: then poll says so). */
	struct pollfd pf = { sv->listener, POLLIN, 0 };
	if (err != EINTR && (err != ENOENT || (poll(&pf, 1, 0) >= 0 && (pf.revents & (POLLHUP | POLLERR)))))
		atomic_store(&sv->serving_done, true);
	return false;
}

static void *serve(void *arg)
{
	struct cr_sv *sv = arg;
	struct seccomp_notif *req = calloc(1, sv->sizes.seccomp_notif);
	while (req && !atomic_load(&sv->serving_done)) {
		bool alone;
		if (!receive(sv, req, &alone))
			continue;
		struct cr_call c;
		pthread_mutex_lock(&sv->state_lock);
		enum next next = decide_call(sv, req, &c);
		pthread_mutex_unlock(&sv->state_lock);
		if (next == DONE)
			continue;
		if (next == ACT_LATER && alone)
			spawn_thread(sv);
		cr_sv_act(sv, &c);
		finish(&c);
	}
	free(req);
	pthread_mutex_lock(&sv->count_lock);
	sv->threads_alive--;
	pthread_cond_broadcast(&sv->none_left);
	pthread_mutex_unlock(&sv->count_lock);
	return NULL;
}

/* Serves until no process is left under the filter: the threads receive
 * and act, this one watches for the end, then waits for the threads still
 * acting (one parked in RECV has nothing left to get: not waited for). */
static void serve_all(struct cr_sv *sv)
{
	spawn_thread(sv);
	pthread_mutex_lock(&sv->count_lock);
	bool receiver = sv->threads_alive > 0;
	pthread_mutex_unlock(&sv->count_lock);
	if (!receiver) { /* no thread to be had: this one serves, polling before each RECV */
		sv->unwatched = true;
		pthread_mutex_lock(&sv->count_lock);
		sv->threads_alive++;
		pthread_mutex_unlock(&sv->count_lock);
		serve(sv);
	} else {
		ended(sv, 0);
	}
	atomic_store(&sv->serving_done, true);
	pthread_mutex_lock(&sv->count_lock);
	while (sv->threads_alive > sv->threads_receiving)
		pthread_cond_wait(&sv->none_left, &sv->count_lock);
	pthread_mutex_unlock(&sv->count_lock);
}

/* ---- one run ---- */

/* SO_ERROR is trapped only if the rules at start can need it. */
static bool so_error_needed(const struct cr_ruleset *rs)
{
	return cr_ruleset_learnt_later(rs);
}

/* A system call the supervisor needs was refused (a container's seccomp
 * profile, an old kernel): which, and what to allow. -1. */
static int refused_here(const char *call)
{
	fprintf(stderr,
		"connrefuse: run --seccomp: the system call %s is refused here (%s): an old kernel (Linux "
		"5.8 or later is needed), or a container whose seccomp profile forbids it; allow seccomp, "
		"pidfd_open, pidfd_getfd, process_vm_readv and process_vm_writev (podman and docker: "
		"--security-opt seccomp=PROFILE; Kubernetes: a Localhost seccompProfile); nothing was run\n",
		call, strerror(errno));
	return -1;
}

/* The supervisor acts on the program's own sockets through pidfd_getfd:
 * refused, every simulated failure would lose its fidelity, silently. */
static int probe_pidfd(void)
{
	int pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	if (pidfd < 0)
		return refused_here("pidfd_open");
	int dup = (int)syscall(SYS_pidfd_getfd, pidfd, pidfd, 0);
	if (dup < 0) {
		refused_here("pidfd_getfd");
		close(pidfd);
		return -1;
	}
	close(dup);
	close(pidfd);
	return 0;
}

/* The rules, and what the kernel offers; -1 after saying why. */
static int setup(struct cr_sv *sv, const char *config)
{
	char err[1024];
	if (cr_sv_rules_start(sv, config, err, sizeof err) != 0) {
		fprintf(stderr, "connrefuse: %s\n", err);
		return -1;
	}
	for (unsigned i = 0; i < CR_MAX_PROCS; i++)
		sv->procs[i].pidfd = sv->procs[i].memfd = -1;
	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sv->sizes) != 0)
		return refused_here("seccomp");
	if (probe_pidfd() != 0)
		return -1;
	sv->so_error_trapped = so_error_needed(sv->current->rs);
	pthread_mutex_init(&sv->state_lock, NULL);
	pthread_mutex_init(&sv->count_lock, NULL);
	pthread_cond_init(&sv->none_left, NULL);
	sv->log = (struct cr_log_state)CR_LOG_STATE_INIT;
	sv->log.notice_stderr = true; /* run's stderr: the user started it */
	return 0;
}

/* Starts the program under the filter; its pid, with sv->listener set, or
 * -1 after saying why (the program did not run). */
static pid_t launch(struct cr_sv *sv, char **prog)
{
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0) {
		perror("connrefuse: socketpair");
		return -1;
	}
	pid_t child = fork();
	if (child < 0) {
		perror("connrefuse: fork");
		return -1;
	}
	if (child == 0) {
		close(sp[0]);
		cr_sv_child(sp[1], prog, sv->so_error_trapped, sv->peer_trapped);
	}
	close(sp[1]);
	/* A pidfd for each process seen (CR_MAX_PROCS): the supervisor's own
	 * descriptor limit goes up to the hard one (the program keeps its own). */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	char msg[512];
	sv->listener = cr_sv_recv_listener(sp[0], msg, sizeof msg);
	close(sp[0]);
	if (sv->listener < 0) {
		cr_child_wait(child);
		fprintf(stderr, "connrefuse: run --seccomp: cannot supervise the program: %s; nothing was run\n",
			*msg ? msg : "the filter could not be installed");
		return -1;
	}
	return child;
}

int cr_supervise(const char *config, char **prog, const struct cr_sv_relay *relay)
{
	static struct cr_sv sv;
	if (setup(&sv, config) != 0)
		return -1;
	sv.relay = relay ? relay->path : NULL;
	/* getpeername only where a relay makes it need an answer: no cost
	 * otherwise. */
	sv.peer_trapped = sv.relay && cr_ruleset_faults(sv.current->rs);
	pid_t child = launch(&sv, prog);
	if (child < 0)
		return -1;
	if (relay && relay->start)
		relay->start(relay->arg);
	cr_child_signals_begin(child);
	ioctl(sv.listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP); /* 6.6+; else without */
	sv.child = child;
	sv.child_status = -1; /* not reaped yet */
	atomic_init(&sv.child_pidfd, (int)syscall(SYS_pidfd_open, child, 0) /* (always close-on-exec) */);
	serve_all(&sv);
	int pidfd = atomic_exchange(&sv.child_pidfd, -1);
	if (pidfd >= 0)
		close(pidfd);
	int status = sv.child_status >= 0 ? sv.child_status : cr_child_wait(child);
	cr_log_summary(&sv.current->rs->log, &sv.log, "connrefuse");
	close(sv.listener);
	cr_child_signals_end();
	return status;
}
