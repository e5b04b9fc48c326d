/* The relay's socket, its asks, and the connection each one makes: the
 * destination first, then the program's own connection, taken on a
 * listener made for it alone. */
#define _GNU_SOURCE
#include "relay.h"
#include "engine/clock.h"
#include "engine/config.h"
#include "engine/config_file.h"
#include "engine/reload.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* How long the relay waits for the destination to accept: beyond it, the
 * library makes the real connect (a destination that drops SYNs hangs it
 * there, as it would have), and the connection passes untouched. */
#define UPSTREAM_MS 3000
/* How long it waits for the library's next step of an ask. */
#define ASK_MS 5000
/* Descriptors a relayed connection holds at most while it is made: the
 * ask, the listener, the destination's and the program's; once made, the
 * last two (budget.c). */
#define FDS_PER_CONN 4

struct cr_relay {
	int fd;
	char dir[4096], path[4200]; /* dir: the private folder made for it ("": a service's) */
	bool any_user;              /* a service: every user may ask; the socket's mode and folder say who can */
	struct cr_log_conf log;
	/* The sinks its lines go to: &log, or those of the rules file as last
	 * reloaded (cr_relay_follow); one replaced is never freed, as a
	 * connection may still write through it (one a change of the file). */
	_Atomic(const struct cr_log_conf *) sinks;
	struct cr_watch watch; /* the file followed; path NULL: none */
	char config[4096], start_dir[4096];
	atomic_flag looking; /* held by the one thread looking at the file */
	double next_look;    /* under looking: monotonic seconds */
	struct cr_log_state log_state;
	atomic_uint active;      /* connections being made or relayed */
	struct cr_fd_budget fds; /* descriptors they may hold */
	atomic_ulong served, full;
	struct cr_relay_pending shaping; /* passes that shape, not ended yet */
	atomic_bool full_said;
	pthread_t thread;
};

const char *cr_relay_path(const struct cr_relay *r)
{
	return r->path;
}

unsigned long cr_relay_served(const struct cr_relay *r)
{
	return atomic_load(&r->served);
}

unsigned long cr_relay_full(const struct cr_relay *r)
{
	return atomic_load(&r->full);
}

/* Waits until fd is ready for ev, up to deadline; 0, or -1. */
static int wait_fd(int fd, short ev, double deadline)
{
	for (;;) {
		double left = deadline - cr_monotonic_now();
		if (left <= 0)
			return -1;
		struct pollfd p = { .fd = fd, .events = ev };
		int n = poll(&p, 1, (int)(left * 1000) + 1);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

static void answer(int fd, int status, int err, uint16_t port)
{
	struct cr_relay_answer a = { .magic = CR_RELAY_MAGIC, .status = status, .err = err, .port = port };
	if (send(fd, &a, sizeof a, MSG_NOSIGNAL) != (ssize_t)sizeof a)
		return; /* the library gave up: it passes the connection untouched */
}

/* Connects to the destination, within UPSTREAM_MS. The descriptor, or -1
 * with the destination's errno in *err (ETIMEDOUT: it did not answer in
 * time). */
static int connect_upstream(const struct cr_relay_ask *a, int *err)
{
	int fd = socket(a->dst.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		*err = errno;
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)&a->dst, a->dst_len) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		*err = errno;
		close(fd);
		return -1;
	}
	if (wait_fd(fd, POLLOUT, cr_monotonic_now() + UPSTREAM_MS / 1000.0) != 0) {
		*err = ETIMEDOUT;
		close(fd);
		return -1;
	}
	socklen_t len = sizeof *err;
	*err = 0;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, err, &len) != 0 || *err) {
		*err = *err ? *err : errno;
		close(fd);
		return -1;
	}
	return fd;
}

/* A listener on loopback, in the program socket's family, on a port the
 * kernel chooses: *port (host order). */
static int listen_loopback(int family, uint16_t *port)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_loopback;
		len = sizeof *s6;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof *s4;
	}
	int fd = socket(family == AF_INET6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 1) != 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
		close(fd);
		return -1;
	}
	*port = cr_relay_port_of(&ss);
	return fd;
}

/* The program's connection: the one from the port the library named. */
static int take_program(int listener, uint16_t from, double deadline)
{
	while (wait_fd(listener, POLLIN, deadline) == 0) {
		struct sockaddr_storage peer;
		socklen_t len = sizeof peer;
		int fd = accept4(listener, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		if (cr_relay_port_of(&peer) == from)
			return fd;
		close(fd); /* someone else found the port: not ours to relay */
	}
	return -1;
}

struct job {
	struct cr_relay *relay;
	int ask_fd;
};

static bool ask_valid(const struct cr_relay_ask *a)
{
	return a->magic == CR_RELAY_MAGIC && a->version == CR_RELAY_VERSION &&
	       (cr_action_after_connect(a->action) || (a->action == CR_ACT_PASS && cr_shape_any(&a->shape))) &&
	       (a->dst.ss_family == AF_INET || a->dst.ss_family == AF_INET6) && a->dst_len <= sizeof a->dst &&
	       a->fault.direction <= CR_DIR_OUT;
}

void cr_relay_follow(struct cr_relay *r, const char *config, const char *start_dir)
{
	snprintf(r->config, sizeof r->config, "%s", config);
	snprintf(r->start_dir, sizeof r->start_dir, "%s", start_dir ? start_dir : "");
	cr_watch_start(&r->watch, r->config, CR_CONFIG_MAX_BYTES);
	r->watch.start_dir = *r->start_dir ? r->start_dir : NULL;
}

/* The sinks now: when the file followed changed (looked at once a second
 * at most, by one thread; the others go on with the sinks in force), its
 * log settings. A file that does not load keeps them (the programs say
 * why). */
static const struct cr_log_conf *sinks_now(struct cr_relay *r)
{
	if (r->watch.path && !atomic_flag_test_and_set(&r->looking)) {
		double now = cr_monotonic_now();
		if (now >= r->next_look && cr_watch_changed(&r->watch)) {
			char err[1024];
			struct cr_ruleset *rs = cr_config_load_bounded(r->watch.path, r->watch.text_max, err,
								       sizeof err);
			struct cr_log_conf *lc = rs ? malloc(sizeof *lc) : NULL;
			if (lc) {
				*lc = rs->log;
				cr_log_file_absolute(lc, r->watch.start_dir);
				atomic_store(&r->sinks, lc);
			}
			cr_ruleset_free(rs);
		}
		if (now >= r->next_look)
			r->next_look = now + 1;
		atomic_flag_clear(&r->looking);
	}
	return atomic_load(&r->sinks);
}

/* One ask, start to end: the destination, the program's connection, then
 * forwarding until both are done. */
static void serve(struct cr_relay *r, int ask_fd)
{
	struct cr_relay_ask *a = calloc(1, sizeof *a);
	struct ucred cred = { 0 };
	socklen_t clen = sizeof cred;
	double deadline = cr_monotonic_now() + ASK_MS / 1000.0;
	if (!a || cr_relay_exchange(ask_fd, a, sizeof *a, false, deadline) != 0) {
		free(a);
		close(ask_fd);
		return;
	}
	a->rule[sizeof a->rule - 1] = a->host[sizeof a->host - 1] = a->comm[sizeof a->comm - 1] = '\0';
	/* Only the user who runs the relay may make it connect, but for a
	 * service, which the socket's mode and folder gate instead. */
	if (!ask_valid(a) || getsockopt(ask_fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0 ||
	    (!r->any_user && cred.uid != geteuid())) {
		answer(ask_fd, CR_RELAY_REFUSED, EPERM, 0);
		free(a);
		close(ask_fd);
		return;
	}
	int err = 0, up = connect_upstream(a, &err);
	if (up < 0) {
		answer(ask_fd, CR_RELAY_FAILED, err, 0);
		free(a);
		close(ask_fd);
		return;
	}
	uint16_t port = 0;
	int listener = listen_loopback(a->family, &port);
	if (listener < 0) {
		answer(ask_fd, CR_RELAY_FULL, errno, 0);
		atomic_fetch_add(&r->full, 1);
		close(up);
		free(a);
		close(ask_fd);
		return;
	}
	answer(ask_fd, CR_RELAY_OK, 0, port);
	struct cr_relay_bound b = { 0 };
	deadline = cr_monotonic_now() + ASK_MS / 1000.0;
	int prog = -1;
	if (cr_relay_exchange(ask_fd, &b, sizeof b, false, deadline) == 0 && b.magic == CR_RELAY_MAGIC && b.port)
		prog = take_program(listener, b.port, deadline);
	close(listener);
	close(ask_fd);
	if (prog < 0) {
		close(up);
		free(a);
		return;
	}
	atomic_fetch_add(&r->served, 1);
	struct cr_relay_conn c = { .prog = prog,
				   .up = up,
				   .ask = *a,
				   .pid = cred.pid == getpid() && a->pid > 0 ? a->pid : cred.pid,
				   .uid = cred.uid,
				   .start = cr_monotonic_now(),
				   .log = sinks_now(r),
				   .log_state = &r->log_state,
				   .shaping = &r->shaping };
	free(a);
	cr_relay_forward(&c);
}

static void *serve_thread(void *arg)
{
	struct job *j = arg;
	/* Every write of the relay's is a send with MSG_NOSIGNAL; SIGPIPE is
	 * blocked here all the same: one raised would end the process that
	 * hosts every connection (run, or the service), where blocked it stays
	 * pending and the write fails with EPIPE. */
	sigset_t pipe_sig;
	sigemptyset(&pipe_sig);
	sigaddset(&pipe_sig, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_sig, NULL);
	serve(j->relay, j->ask_fd);
	cr_fd_budget_give(&j->relay->fds, FDS_PER_CONN);
	atomic_fetch_sub(&j->relay->active, 1);
	free(j);
	return NULL;
}

/* Full: the ask is answered at once, the connection passes untouched;
 * said once, counted always. */
static void turn_away(struct cr_relay *r, int fd)
{
	/* The ask is read first: a unix socket closed with bytes unread makes
	 * the asker's next read fail (ECONNRESET), answer or not. The library
	 * sends it at once, so the wait is short; bounded all the same. */
	struct cr_relay_ask *a = malloc(sizeof *a);
	if (a)
		cr_relay_exchange(fd, a, sizeof *a, false, cr_monotonic_now() + 0.5);
	free(a);
	answer(fd, CR_RELAY_FULL, EMFILE, 0);
	close(fd);
	atomic_fetch_add(&r->full, 1);
	if (!atomic_exchange(&r->full_said, true)) {
		char msg[200];
		snprintf(msg, sizeof msg,
			 "relay: %u connections relayed at once, the most its descriptors allow: new ones pass untouched (counted)",
			 atomic_load(&r->active));
		cr_log_message(atomic_load(&r->sinks), 4 /* LOG_WARNING */, true, msg);
	}
}

static void *accept_thread(void *arg)
{
	struct cr_relay *r = arg;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (;;) {
		int fd = accept4(r->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM)
				continue;
			break; /* closed: cr_relay_close */
		}
		if (!cr_fd_budget_take(&r->fds, FDS_PER_CONN)) {
			turn_away(r, fd);
			continue;
		}
		atomic_fetch_add(&r->active, 1);
		struct job *j = malloc(sizeof *j);
		pthread_t t;
		if (j) {
			*j = (struct job){ r, fd };
			if (pthread_create(&t, &attr, serve_thread, j) == 0)
				continue;
			free(j);
		}
		cr_fd_budget_give(&r->fds, FDS_PER_CONN);
		atomic_fetch_sub(&r->active, 1);
		turn_away(r, fd);
	}
	pthread_attr_destroy(&attr);
	return NULL;
}

/* The descriptors connections may hold: what the soft limit leaves after
 * a margin for the command itself (1,024 connections' worth when it is
 * unlimited or huge). */
static unsigned max_fds(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 1 << 20)
		return 1024 * FDS_PER_CONN;
	return rl.rlim_cur > 64 + FDS_PER_CONN ? (unsigned)(rl.rlim_cur - 64) : FDS_PER_CONN;
}

static struct cr_relay *relay_new(const struct cr_log_conf *log, char *err, size_t errsize)
{
	struct cr_relay *r = calloc(1, sizeof *r);
	if (!r) {
		snprintf(err, errsize, "relay: out of memory");
		return NULL;
	}
	r->fd = -1;
	r->log = *log;
	atomic_init(&r->sinks, &r->log);
	atomic_flag_clear(&r->looking);
	r->log_state = (struct cr_log_state)CR_LOG_STATE_INIT;
	r->log_state.notice_stderr = true;
	r->fds.max = max_fds();
	pthread_mutex_init(&r->shaping.lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->shaping.none, &ca);
	pthread_condattr_destroy(&ca);
	return r;
}

/* Binds and listens at r->path: 0, or -1 with a message in err. */
static int bind_listen(struct cr_relay *r, char *err, size_t errsize)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (strlen(r->path) >= sizeof sun.sun_path) {
		snprintf(err, errsize, "relay: the socket path %s is too long (at most %zu characters)", r->path,
			 sizeof sun.sun_path - 1);
		return -1;
	}
	memcpy(sun.sun_path, r->path, strlen(r->path) + 1);
	r->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool bound = r->fd >= 0 && bind(r->fd, (struct sockaddr *)&sun, sizeof sun) == 0;
	if (!bound || listen(r->fd, 128) != 0) {
		snprintf(err, errsize, "relay: cannot listen at %s: %s", r->path, strerror(errno));
		if (bound) /* (never another's: a path in use fails the bind) */
			unlink(r->path);
		if (r->fd >= 0)
			close(r->fd);
		return -1;
	}
	return 0;
}

struct cr_relay *cr_relay_open(const struct cr_log_conf *log, char *err, size_t errsize)
{
	struct cr_relay *r = relay_new(log, err, errsize);
	if (!r)
		return NULL;
	const char *base = getenv("XDG_RUNTIME_DIR");
	struct stat st;
	if (!base || !*base || stat(base, &st) != 0 || !S_ISDIR(st.st_mode) || access(base, W_OK) != 0)
		base = "/tmp";
	snprintf(r->dir, sizeof r->dir, "%s/connrefuse-relay-XXXXXX", base);
	if (!mkdtemp(r->dir)) {
		snprintf(err, errsize, "relay: cannot make a folder %s: %s", r->dir, strerror(errno));
		free(r);
		return NULL;
	}
	snprintf(r->path, sizeof r->path, "%s/relay.sock", r->dir);
	if (bind_listen(r, err, errsize) != 0) {
		rmdir(r->dir);
		free(r);
		return NULL;
	}
	return r;
}

/* Makes the folders of path that are missing (mode 0755): 0, or -1 with
 * errno, the folder that could not be made in dir. */
static int make_folders(const char *path, char *dir, size_t dirsize)
{
	snprintf(dir, dirsize, "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1;; p++) {
		if (*p != '/' && *p)
			continue;
		char c = *p;
		*p = '\0';
		struct stat st;
		if (stat(dir, &st) != 0 && (errno != ENOENT || mkdir(dir, 0755) != 0))
			return -1;
		if (!c)
			return 0;
		*p = c;
	}
}

/* A socket at path nobody answers at is left from a relay that died: 0
 * when there is none (any more), 1 when a relay answers there, -1 with
 * errno when it cannot be told. */
static int clear_stale(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	memcpy(sun.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int rc = connect(fd, (struct sockaddr *)&sun, sizeof sun);
	int e = errno;
	close(fd);
	if (rc == 0)
		return 1;
	if (e == ENOENT)
		return 0;
	struct stat st;
	if (e == ECONNREFUSED && lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode))
		e = ENOTSOCK; /* a file of another kind: not the relay's to remove */
	else if (e == ECONNREFUSED)
		return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
	errno = e;
	return -1;
}

struct cr_relay *cr_relay_listen(const char *path, const struct cr_log_conf *log, char *err, size_t errsize)
{
	char dir[4096];
	if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		snprintf(err, errsize, "relay: the socket path %s is too long for a unix socket", path);
		return NULL;
	}
	if (make_folders(path, dir, sizeof dir) != 0) {
		snprintf(err, errsize,
			 "relay: cannot make the folder %s: %s (make it, writable by uid %u, or run the relay with "
			 "systemd's RuntimeDirectory=)",
			 dir, strerror(errno), (unsigned)geteuid());
		return NULL;
	}
	switch (clear_stale(path)) {
	case 1:
		snprintf(err, errsize,
			 "relay: another relay answers at %s: one is enough (stop it first, or give this one another "
			 "relay.socket)",
			 path);
		return NULL;
	case -1:
		snprintf(err, errsize, "relay: %s is there and cannot be replaced: %s (remove it, or fix its rights)",
			 path, strerror(errno));
		return NULL;
	}
	struct cr_relay *r = relay_new(log, err, errsize);
	if (!r)
		return NULL;
	r->any_user = true;
	snprintf(r->path, sizeof r->path, "%s", path);
	if (bind_listen(r, err, errsize) != 0) {
		free(r);
		return NULL;
	}
	/* Every user may connect: the folder's rights narrow it (the umask
	 * would decide otherwise). */
	if (chmod(path, 0666) != 0) {
		snprintf(err, errsize, "relay: cannot open %s to every user: %s", path, strerror(errno));
		close(r->fd);
		unlink(path);
		free(r);
		return NULL;
	}
	return r;
}

unsigned cr_relay_max_fds(const struct cr_relay *r)
{
	return r->fds.max;
}

int cr_relay_start(struct cr_relay *r, char *err, size_t errsize)
{
	int e = pthread_create(&r->thread, NULL, accept_thread, r);
	if (e != 0) {
		snprintf(err, errsize, "relay: cannot start its thread: %s", strerror(e));
		return -1;
	}
	pthread_detach(r->thread);
	return 0;
}

void cr_relay_close(struct cr_relay *r)
{
	if (!r)
		return;
	/* No new ask can find it; the threads, and r, stay as the process ends. */
	unlink(r->path);
	if (*r->dir)
		rmdir(r->dir);
	/* The program has ended, so have its sockets: a shaped connection ends
	 * once its destination's end follows, and writes its line then. */
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += 1;
	pthread_mutex_lock(&r->shaping.lock);
	while (r->shaping.n && pthread_cond_timedwait(&r->shaping.none, &r->shaping.lock, &until) == 0)
		;
	pthread_mutex_unlock(&r->shaping.lock);
}
