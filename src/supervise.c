/* run --seccomp (supervise.h).
 *
 * Idle threads wait in the listener's RECV; the kernel hands each trapped
 * call to one of them, which decides (under state_lock: the process table,
 * the rules, a reload) and answers it. A call that must wait (a delay, or a
 * blocking connect the supervisor makes on the program's behalf to learn
 * its outcome for the audit) is acted on by the thread that received it,
 * after it made sure another thread is left receiving, so that one slow
 * connect never holds up the others. */
#define _GNU_SOURCE
#include "supervise.h"
#include "decide.h"
#include "log.h"
#include "rules.h"
#include "seccomp_sync.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <syslog.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__)
#define CR_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define CR_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

#define FASTOPEN 0x20000000 /* MSG_FASTOPEN */

/* ---- the filter, installed in the child before it executes the program ---- */

#ifdef CR_AUDIT_ARCH
/* connect always; sendto and sendmsg only with MSG_FASTOPEN in their flags
 * (argument 3 and 2); execve and execveat, so that the supervisor knows when
 * a process becomes another program; getsockopt(SOL_SOCKET, SO_ERROR) when
 * some rule fails non-blocking sockets with an errno other than the
 * refusal (instruction GETSOCKOPT is patched out otherwise); everything
 * else, and other ABIs, untouched. */
#define GETSOCKOPT 9
static struct sock_filter filter[] = {
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, CR_AUDIT_ARCH, 1, 0),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_connect, 14, 0),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_execve, 13, 0),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_execveat, 12, 0),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_sendto, 2, 0),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_sendmsg, 3, 0),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getsockopt, 4, 8),
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[3])),
	BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, FASTOPEN, 7, 6),
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])),
	BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, FASTOPEN, 5, 4),
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SOL_SOCKET, 0, 2),
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SO_ERROR, 1, 0),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
};
#endif

static void send_text(int sock, const char *what)
{
	char msg[512];
	int n = snprintf(msg, sizeof msg, "%s: %s", what, strerror(errno));
	if (n > 0 && write(sock, msg, (size_t)n) < 0) {
		/* the parent reports a missing listener anyway */
	}
}

/* The listener passes from the child to the parent as one byte with the
 * descriptor attached (SCM_RIGHTS); a child that failed sends text instead. */
union fd_control {
	char buf[CMSG_SPACE(sizeof(int))];
	struct cmsghdr align;
};

static bool send_fd(int sock, int fd)
{
	char byte = 0;
	struct iovec iov = { &byte, 1 };
	union fd_control ctl;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &mh, 0) == 1;
}

/* The descriptor, or -1 with what the child wrote (if anything) in msg. */
static int recv_fd(int sock, char *msg, size_t size)
{
	char byte = 0;
	struct iovec iov = { &byte, 1 };
	union fd_control ctl;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf };
	ssize_t got = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	struct cmsghdr *cm = got == 1 ? CMSG_FIRSTHDR(&mh) : NULL;
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
		int fd;
		memcpy(&fd, CMSG_DATA(cm), sizeof(int));
		return fd;
	}
	size_t n = 0;
	if (got == 1) {
		msg[n++] = byte;
		ssize_t more = read(sock, msg + 1, size - 2);
		n += more > 0 ? (size_t)more : 0;
	}
	msg[n] = '\0';
	return -1;
}

/* In the child: installs the filter, hands the listener to the parent, runs
 * the program. Never returns. */
static void child(int sock, char **prog)
{
#ifdef CR_AUDIT_ARCH
	struct sock_fprog fprog = { .len = sizeof filter / sizeof filter[0], .filter = filter };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		send_text(sock, "prctl(PR_SET_NO_NEW_PRIVS)");
		_exit(125);
	}
	/* SPEC_ALLOW: the filter intercepts, it does not confine; without it,
	 * kernels whose store-bypass mitigation follows seccomp would slow
	 * every load the program makes. */
	int listener = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
				    SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_SPEC_ALLOW, &fprog);
	if (listener < 0) {
		send_text(sock, "seccomp(SECCOMP_FILTER_FLAG_NEW_LISTENER)");
		_exit(125);
	}
	if (!send_fd(sock, listener))
		_exit(125);
	close(listener);
	close(sock);
	execvp(prog[0], prog);
	fprintf(stderr, "connrefuse: cannot run %s: %s\n", prog[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
#else
	(void)prog;
	errno = ENOSYS;
	send_text(sock, "run --seccomp on this architecture");
	_exit(125);
#endif
}

/* ---- processes: a counter set per process, rules shared ---- */

/* The rule set in force (reloaded when the file changes), with a count of
 * the calls still being acted on under it. */
struct generation {
	struct cr_ruleset *rs;
	atomic_int refs; /* one while current, plus one a call being acted on */
	struct generation *older;
};

struct proc {
	pid_t tgid;
	char exe[256];       /* another program (exec) is another process */
	char comm[16];
	struct generation *gen;
	struct cr_rule_state *states;
	int pidfd;
	int memfd;           /* its /proc/PID/mem, opened at the first read */
	uint8_t image[16];   /* its program image's AT_RANDOM bytes: new at each exec */
	bool exec_pending;   /* an exec was trapped: did it happen? */
	unsigned long last_used;
};

#define MAX_PROCS 1024

/* Which process a thread belongs to, read from /proc once and then trusted
 * for a second (an exec, which the filter reports, forgets it at once). */
struct thread {
	pid_t tid;
	uint16_t proc;
	double checked;
};
#define MAX_THREADS 4096 /* a power of two */

static struct {
	int listener;
	const char *config;
	struct stat config_stat;
	struct generation *current;   /* newest first, linked to older ones */
	double next_look;
	struct proc procs[MAX_PROCS];
	struct thread threads[MAX_THREADS];
	unsigned long clock;
	struct seccomp_notif_sizes sizes;
	bool so_error_trapped;        /* the filter hands getsockopt(SO_ERROR) over */
} sv;

static double monotonic_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void generation_release(struct generation *g)
{
	atomic_fetch_sub(&g->refs, 1);
}

/* Frees the older generations that no call and no process uses any more. */
static void collect(void)
{
	struct generation **p = &sv.current->older;
	while (*p) {
		struct generation *g = *p;
		bool used = atomic_load(&g->refs) > 0;
		for (unsigned i = 0; !used && i < MAX_PROCS; i++)
			used = sv.procs[i].gen == g;
		if (used) {
			p = &g->older;
		} else {
			*p = g->older;
			cr_ruleset_free(g->rs);
			free(g);
		}
	}
}

static struct cr_ruleset *load_rules(char *err, size_t errsize)
{
	if (!sv.config)
		return cr_ruleset_new_empty();
	return cr_config_load(sv.config, err, errsize);
}

/* At most once a second: a changed file becomes the new generation; a bad
 * one is reported and the rules in force stay. */
static void maybe_reload(double now)
{
	if (!sv.config || now < sv.next_look)
		return;
	sv.next_look = now + 1;
	struct stat st;
	if (stat(sv.config, &st) != 0)
		memset(&st, 0, sizeof st);
	if (st.st_ino == sv.config_stat.st_ino && st.st_dev == sv.config_stat.st_dev &&
	    st.st_size == sv.config_stat.st_size && st.st_mtim.tv_sec == sv.config_stat.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == sv.config_stat.st_mtim.tv_nsec)
		return;
	sv.config_stat = st;
	char err[1024], msg[1400];
	struct cr_ruleset *rs = load_rules(err, sizeof err);
	const struct cr_log_conf *lc = &sv.current->rs->log;
	if (!rs) {
		snprintf(msg, sizeof msg, "config error: %s; the rules loaded before stay in force", err);
		cr_log_message(lc, LOG_ERR, true, msg);
		return;
	}
	struct generation *g = calloc(1, sizeof *g);
	if (!g) {
		cr_ruleset_free(rs);
		return;
	}
	g->rs = rs;
	atomic_init(&g->refs, 1);
	g->older = sv.current;
	generation_release(sv.current);
	sv.current = g;
	snprintf(msg, sizeof msg, "config reloaded: %s (%u rules)", sv.config, rs->nrules);
	cr_log_message(&rs->log, LOG_INFO, false, msg);
	collect();
}

/* The thread's process, its comm and executable, from /proc. */
static bool read_process(pid_t tid, pid_t *tgid, char *comm, size_t commsize, char *exe, size_t exesize)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/status", (int)tid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	const char *name = strstr(buf, "Name:\t"), *tg = strstr(buf, "\nTgid:\t");
	if (!name || !tg)
		return false;
	name += 6;
	size_t len = strcspn(name, "\n");
	snprintf(comm, commsize, "%.*s", (int)len, name);
	*tgid = (pid_t)atoi(tg + 7);
	snprintf(path, sizeof path, "/proc/%d/exe", (int)*tgid);
	ssize_t k = readlink(path, exe, exesize - 1);
	exe[k > 0 ? k : 0] = '\0';
	return true;
}

static void proc_drop(struct proc *p)
{
	for (unsigned i = 0; i < MAX_THREADS; i++)
		if (sv.threads[i].tid && sv.threads[i].proc == (uint16_t)(p - sv.procs))
			sv.threads[i].checked = -1e9; /* read again */
	if (p->pidfd >= 0)
		close(p->pidfd);
	if (p->memfd >= 0)
		close(p->memfd);
	free(p->states);
	memset(p, 0, sizeof *p);
	p->pidfd = p->memfd = -1;
}

/* Fresh counters for the rules of g; those of rules that continue a rule of
 * the process's previous generation keep counting. */
static struct cr_rule_state *states_for(struct generation *g, const struct proc *p, double now)
{
	struct cr_rule_state *st = calloc(g->rs->nrules + 1, sizeof *st);
	if (!st)
		return NULL;
	for (unsigned i = 0; i < g->rs->nrules; i++)
		st[i].loaded_at = now;
	if (p->gen && p->states) {
		int32_t *map = malloc((g->rs->nrules + 1) * sizeof *map);
		if (map) {
			cr_ruleset_state_map(g->rs, p->gen->rs, map);
			for (unsigned i = 0; i < g->rs->nrules; i++)
				if (map[i] >= 0) {
					atomic_store(&st[i].attempts, atomic_load(&p->states[map[i]].attempts));
					st[i].loaded_at = p->states[map[i]].loaded_at;
				}
			free(map);
		}
	}
	return st;
}

static struct thread *thread_slot(pid_t tid)
{
	uint32_t i = ((uint32_t)tid * 2654435761u) & (MAX_THREADS - 1);
	for (unsigned probes = 0; probes < 8; probes++, i = (i + 1) & (MAX_THREADS - 1))
		if (sv.threads[i].tid == tid || sv.threads[i].tid == 0)
			return &sv.threads[i];
	return &sv.threads[((uint32_t)tid * 2654435761u) & (MAX_THREADS - 1)]; /* full: replace */
}

/* An exec is under way in tid's process: what we know of it is read again
 * at its next call, and if the exec happened (its image is new), its
 * counters start again, as the preload library's do in the new program. A
 * thread never seen before is looked up: it may exec for a process others
 * connected for. */
static void forget_process_of(pid_t tid)
{
	struct thread *t = thread_slot(tid);
	pid_t tgid;
	char comm[16], exe[256];
	if (t->tid == tid)
		tgid = sv.procs[t->proc].tgid;
	else if (!read_process(tid, &tgid, comm, sizeof comm, exe, sizeof exe))
		return;
	for (unsigned i = 0; i < MAX_PROCS; i++) {
		struct proc *p = &sv.procs[i];
		if (p->tgid != tgid)
			continue;
		p->exec_pending = true;
		if (p->memfd >= 0) { /* it would read the old program's memory */
			close(p->memfd);
			p->memfd = -1;
		}
	}
	for (unsigned i = 0; i < MAX_THREADS; i++)
		if (sv.threads[i].tid && sv.procs[sv.threads[i].proc].tgid == tgid)
			sv.threads[i].checked = -1e9;
}

static bool image_of(struct proc *p, uint8_t id[16]);

/* The process a trapped thread belongs to, on the current generation. */
static struct proc *proc_of(pid_t tid, double now)
{
	struct thread *t = thread_slot(tid);
	struct proc *p = NULL;
	if (t->tid == tid && now - t->checked < 1.0) {
		p = &sv.procs[t->proc];
	} else {
		pid_t tgid;
		char comm[16], exe[256];
		if (!read_process(tid, &tgid, comm, sizeof comm, exe, sizeof exe))
			return NULL;
		struct proc *victim = &sv.procs[0];
		for (unsigned i = 0; i < MAX_PROCS; i++) {
			struct proc *q = &sv.procs[i];
			if (q->tgid == tgid && strcmp(q->exe, exe) == 0) {
				p = q;
				break;
			}
			if (q->last_used < victim->last_used)
				victim = q;
		}
		if (p && p->exec_pending) {
			/* The same program: executed again, or the exec failed. */
			uint8_t id[16];
			if (!image_of(p, id) || memcmp(id, p->image, sizeof id) != 0) {
				proc_drop(p); /* its slot takes the new image */
				victim = p;
				p = NULL;
			} else {
				p->exec_pending = false;
			}
		}
		if (!p) {
			/* A new process, or one that executed a program. */
			for (unsigned i = 0; i < MAX_PROCS; i++)
				if (sv.procs[i].tgid == tgid)
					proc_drop(&sv.procs[i]);
			if (victim->tgid)
				proc_drop(victim);
			p = victim;
			p->tgid = tgid;
			p->pidfd = (int)syscall(SYS_pidfd_open, tgid, 0);
			snprintf(p->exe, sizeof p->exe, "%s", exe);
			image_of(p, p->image);
		}
		snprintf(p->comm, sizeof p->comm, "%s", comm);
		*t = (struct thread){ .tid = tid, .proc = (uint16_t)(p - sv.procs), .checked = now };
	}
	if (p->gen != sv.current) {
		struct cr_rule_state *st = states_for(sv.current, p, now);
		if (!st)
			return NULL;
		free(p->states);
		p->states = st;
		p->gen = sv.current;
	}
	p->last_used = ++sv.clock;
	return p;
}

/* ---- one trapped call ---- */

struct call {
	uint64_t id;
	int nr;
	int fd;              /* the program's descriptor number */
	int dup;             /* our duplicate of its socket, or -1 */
	int sotype, domain;
	bool nonblock;
	struct sockaddr_storage sa;
	socklen_t salen;
	struct cr_dest dest;
	pid_t pid;
	char comm[16];
	struct cr_verdict v;
	char rule[128];      /* the deciding rule's name ("" for none) */
	struct generation *gen;
};

/* Non-blocking connects whose outcome the program learns later, from
 * getsockopt(SO_ERROR) or a second connect(), where the supervisor looks:
 * a simulated failure whose errno is not the refusal the kernel holds (the
 * supervisor puts the errno there), and a pass under audit (its outcome is
 * logged there). A socket is known by its process and inode (descriptor
 * numbers are reused). */
struct later {
	pid_t tgid;
	ino_t ino;
	int err;             /* the simulated errno; 0: a pass under audit */
	unsigned long seq;   /* the order kept in */
	struct cr_dest dest;
	/* for the audit's line */
	int sotype;
	struct cr_verdict v;
	char rule[128];
};
/* 128 buckets of 32: a socket's entry lives in the bucket of its hash, so
 * that thousands of connects in flight at once each keep theirs. */
#define LATER_BUCKETS 128
#define LATER_BUCKET 32
static struct later laters[LATER_BUCKETS][LATER_BUCKET];
static pthread_mutex_t laters_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int nlaters; /* entries in use: the common case looks no further */

static ino_t inode_of(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 ? st.st_ino : 0;
}

static struct later *later_bucket(pid_t tgid, ino_t ino)
{
	uint64_t h = ((uint64_t)(uint32_t)tgid * 0x9e3779b97f4a7c15ULL) ^ ((uint64_t)ino * 0xbf58476d1ce4e5b9ULL);
	return laters[(h >> 40) % LATER_BUCKETS];
}

/* Keeps e (its tgid and ino set). When its bucket is full, the oldest entry
 * gives way, an audit's before a simulated errno's: sockets the program
 * closed without asking stay until then. */
static void later_keep(const struct later *e)
{
	static unsigned long seq;
	struct later *bucket = later_bucket(e->tgid, e->ino), *slot = NULL, *empty = NULL, *oldest = &bucket[0];
	pthread_mutex_lock(&laters_lock);
	for (unsigned i = 0; i < LATER_BUCKET && !slot; i++) {
		struct later *l = &bucket[i];
		if (l->tgid == e->tgid && l->ino == e->ino)
			slot = l;
		else if (l->tgid == 0)
			empty = empty ? empty : l;
		else if ((l->err == 0) > (oldest->err == 0) || ((l->err == 0) == (oldest->err == 0) && l->seq < oldest->seq))
			oldest = l;
	}
	slot = slot ? slot : empty ? empty : oldest;
	if (slot->tgid == 0)
		atomic_fetch_add(&nlaters, 1);
	*slot = *e;
	slot->seq = ++seq;
	pthread_mutex_unlock(&laters_lock);
}

static void later_put(const struct call *c, int err)
{
	struct later e = { .tgid = c->pid, .ino = inode_of(c->dup), .err = err, .dest = c->dest, .sotype = c->sotype,
			   .v = c->v };
	memcpy(e.rule, c->rule, sizeof e.rule);
	later_keep(&e);
}

/* Takes the entry of (tgid, socket) into *out, if there is one. */
static bool later_take(pid_t tgid, int dup, struct later *out)
{
	if (atomic_load(&nlaters) == 0)
		return false;
	ino_t ino = inode_of(dup);
	struct later *bucket = later_bucket(tgid, ino);
	bool found = false;
	pthread_mutex_lock(&laters_lock);
	for (unsigned i = 0; i < LATER_BUCKET && !found; i++)
		if (bucket[i].tgid == tgid && bucket[i].ino == ino) {
			*out = bucket[i];
			bucket[i].tgid = 0;
			atomic_fetch_sub(&nlaters, 1);
			found = true;
		}
	pthread_mutex_unlock(&laters_lock);
	return found;
}

static bool read_memory(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)addr, len };
	return process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)len;
}

/* The same through the process's /proc/PID/mem, opened once: a read there
 * skips the look-up and access check process_vm_readv makes every time
 * (about a fifth of the supervisor's own cost per call). Should it fail
 * (the process is gone, or it executed a program since and the descriptor
 * holds the old memory), process_vm_readv by thread id answers. */
static bool read_memory_of(struct proc *p, pid_t tid, uint64_t addr, void *buf, size_t len)
{
	if (p->memfd < 0) {
		char path[64];
		snprintf(path, sizeof path, "/proc/%d/mem", (int)p->tgid);
		p->memfd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (p->memfd >= 0 && addr <= INT64_MAX && pread(p->memfd, buf, len, (off_t)addr) == (ssize_t)len)
		return true;
	if (p->memfd >= 0) {
		close(p->memfd);
		p->memfd = -1;
	}
	return read_memory(tid, addr, buf, len);
}

/* What tells one program image from the next in a process: the 16 random
 * bytes the kernel gives each exec (AT_RANDOM in its auxiliary vector). */
static bool image_of(struct proc *p, uint8_t id[16])
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/auxv", (int)p->tgid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	unsigned long av[2 * 64];
	ssize_t n = read(fd, av, sizeof av);
	close(fd);
	for (ssize_t i = 0; i + 1 < n / (ssize_t)sizeof av[0]; i += 2)
		if (av[i] == AT_RANDOM)
			return read_memory_of(p, p->tgid, av[i + 1], id, 16);
	return false;
}

static void respond(uint64_t id, long val, int err, bool cont)
{
	struct seccomp_notif_resp resp = { .id = id, .val = val, .error = err ? -err : 0,
					   .flags = cont ? SECCOMP_USER_NOTIF_FLAG_CONTINUE : 0 };
	if (ioctl(sv.listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) != 0) {
		/* ENOENT: the call was interrupted (a signal) or the process is gone */
	}
}

static const char *proto_name(const struct call *c)
{
	if (c->dest.family == CR_FAM_UNIX)
		return "unix";
	return c->sotype == SOCK_STREAM ? "tcp" : c->sotype == SOCK_DGRAM ? "udp" : NULL;
}

/* Logs an outcome as the library does (a dry run reports the real outcome,
 * marked, at level failures). */
static void log_call(struct call *c, int err, bool simulated)
{
	bool dry_run = c->v.dry_run && (c->v.action == CR_ACT_REFUSE || c->v.action == CR_ACT_FAIL);
	bool in_progress = err == EINPROGRESS && !simulated; /* a state, shown at level all */
	if (c->v.level < (in_progress ? CR_LEVEL_ALL : cr_level_needed(err, dry_run)))
		return;
	if (!c->sotype && c->dup >= 0) /* for the line's proto */
		getsockopt(c->dup, SOL_SOCKET, SO_TYPE, &c->sotype, &(socklen_t){ sizeof c->sotype });
	struct cr_event ev = {
		.result = in_progress ? CR_RES_IN_PROGRESS : cr_result_of(err), .simulated = simulated, .rule = c->rule[0] ? c->rule : NULL,
		.action = c->v.action, .dry_run = dry_run, .pid = c->pid, .comm = c->comm, .dest = &c->dest,
		.proto = proto_name(c), .err = err,
	};
	cr_log_event(&c->gen->rs->log, &ev);
}

/* The outcome of a pass under audit, learnt after the connect (e is its
 * entry; p its process, whose pid and comm the line carries; dup our
 * duplicate of the socket). */
static void log_later(const struct later *e, const struct proc *p, int dup, int err)
{
	struct call c = { .dup = dup, .sotype = e->sotype, .dest = e->dest, .pid = p->tgid, .v = e->v, .gen = sv.current };
	memcpy(c.comm, p->comm, sizeof c.comm);
	memcpy(c.rule, e->rule, sizeof c.rule);
	log_call(&c, err, false);
}

/* After a question on a socket with an entry (SO_ERROR, a second connect)
 * was answered: an outcome not there yet keeps the entry for the next
 * question (which waits on the state lock till then); one that is there is
 * logged, for a pass under audit. */
static void later_answered(const struct later *e, const struct proc *p, int dup, bool settled, int err)
{
	if (!settled)
		later_keep(e);
	else if (!e->err)
		log_later(e, p, dup, err);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Makes the simulated failure on the program's socket and answers. */
static void act_simulate(struct call *c)
{
	int err = c->v.err;
	if (c->dest.family != CR_FAM_UNIX && c->sotype == SOCK_STREAM && cr_err_reported_later(err)) {
		/* The kernel refuses the socket itself: its state, and what a
		 * non-blocking program sees next (POLLERR, SO_ERROR), are real. */
		struct sockaddr_storage sink;
		socklen_t slen = cr_sink_address(&c->dest, c->sa.ss_family, &sink);
		int rc = connect(c->dup, (struct sockaddr *)&sink, slen), kerr = rc == 0 ? 0 : errno;
		if (kerr == ECONNREFUSED)
			kerr = err;
		if (kerr == EINPROGRESS && err != ECONNREFUSED)
			later_put(c, err);
		respond(c->id, rc, kerr, false);
		log_call(c, kerr == EINPROGRESS ? err : kerr, kerr == err || kerr == EINPROGRESS);
		return;
	}
	/* Unix and datagram sockets, and the errnos connect() itself returns,
	 * fail at once in the kernel too. */
	respond(c->id, -1, err, false);
	log_call(c, err, true);
}

/* A call that passes, under audit: the supervisor makes the connect itself,
 * on the program's socket, to learn and log its outcome. On a non-blocking
 * socket the outcome comes later, where the program asks for it (SO_ERROR,
 * trapped, or a second connect). Otherwise the call continues unseen. */
static void act_pass(struct call *c)
{
	bool audit = c->v.level >= CR_LEVEL_FAILURES;
	if (!audit || (c->nonblock && !sv.so_error_trapped) || c->nr != __NR_connect || c->dup < 0) {
		respond(c->id, 0, 0, true);
		return;
	}
	int rc = connect(c->dup, (struct sockaddr *)&c->sa, c->salen), err = rc == 0 ? 0 : errno;
	if (err == EINPROGRESS)
		later_put(c, 0); /* before the program can ask */
	respond(c->id, rc, err, false);
	if (err != EINTR && err != EALREADY && err != EISCONN) /* those are states, not outcomes */
		log_call(c, err, false);
}

static void act(struct call *c)
{
	if (c->v.delay_ms)
		sleep_ms(c->v.delay_ms);
	if (c->v.simulate && c->dup >= 0) {
		act_simulate(c);
	} else if (c->v.simulate) {
		/* The socket could not be reached (pidfd_getfd refused): fail
		 * the call at once, as on a blocking socket. */
		respond(c->id, -1, c->v.err, false);
		log_call(c, c->v.err, true);
	} else {
		act_pass(c);
	}
}

/* ---- deciding: the leader's part ---- */

/* Reaches the program's socket: a duplicate and its blocking mode, and
 * with `full` its type and family too. False when it is not a socket we
 * can act on (the kernel answers then). */
static bool take_socket(struct call *c, const struct proc *p, bool full)
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

enum next { DONE, ACT_NOW, ACT_LATER };

static bool same_dest(const struct cr_dest *a, const struct cr_dest *b)
{
	return a->family == b->family && a->port == b->port && memcmp(a->addr, b->addr, sizeof a->addr) == 0 &&
	       a->path_len == b->path_len && memcmp(a->path, b->path, a->path_len) == 0;
}

/* getsockopt(SO_ERROR) on a socket the supervisor keeps an entry for: the
 * supervisor reads (and so clears) the error on its duplicate and gives it
 * to the program, the simulated errno in place of the kernel's refusal; a
 * pass under audit has its outcome logged, once it has one. */
static void so_error_call(const struct seccomp_notif *req, double now)
{
	uint64_t id = req->id;
	struct proc *p = atomic_load(&nlaters) ? proc_of(req->pid, now) : NULL;
	int dup = p && p->pidfd >= 0 ? (int)syscall(SYS_pidfd_getfd, p->pidfd, (int)req->data.args[0], 0) : -1;
	struct later e;
	bool held = dup >= 0 && later_take(p->tgid, dup, &e);
	socklen_t olen = 0;
	if (!held || !read_memory_of(p, req->pid, req->data.args[4], &olen, sizeof olen) || olen < sizeof(int)) {
		if (dup >= 0)
			close(dup);
		respond(id, 0, 0, true);
		return;
	}
	int so = 0;
	getsockopt(dup, SOL_SOCKET, SO_ERROR, &so, &(socklen_t){ sizeof so });
	if (so == ECONNREFUSED && e.err)
		so = e.err;
	/* Neither failed nor connected: still under way, asked too early. */
	struct sockaddr_storage peer;
	bool settled = so || (!e.err && getpeername(dup, (struct sockaddr *)&peer, &(socklen_t){ sizeof peer }) == 0);
	olen = sizeof so;
	struct iovec local[2] = { { &so, sizeof so }, { &olen, sizeof olen } },
		     remote[2] = { { (void *)(uintptr_t)req->data.args[3], sizeof so },
				   { (void *)(uintptr_t)req->data.args[4], sizeof olen } };
	bool written = ioctl(sv.listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0 &&
		       process_vm_writev(req->pid, local, 2, remote, 2, 0) == (ssize_t)(sizeof so + sizeof olen);
	respond(id, 0, 0, !written);
	later_answered(&e, p, dup, settled, so);
	close(dup);
}

/* Reads the call and decides. The quiet path (a pass that nothing needs to
 * see) answers at once without touching the program's socket. */
static enum next decide_call(const struct seccomp_notif *req, struct call *c)
{
	*c = (struct call){ .id = req->id, .nr = req->data.nr, .fd = (int)req->data.args[0], .dup = -1 };
	if (c->nr == __NR_execve || c->nr == __NR_execveat) {
		forget_process_of(req->pid);
		respond(c->id, 0, 0, true);
		return DONE;
	}
	if (c->nr == __NR_getsockopt) {
		so_error_call(req, monotonic_now());
		return DONE;
	}
	double now = monotonic_now();
	maybe_reload(now);
	/* Nothing to match and nothing to log: the destination is not read. */
	const struct cr_ruleset *rs = sv.current->rs;
	if (!rs->nrules && rs->default_action == CR_ACT_PASS && rs->log.level < CR_LEVEL_FAILURES &&
	    !atomic_load(&nlaters)) {
		respond(c->id, 0, 0, true);
		return DONE;
	}
	struct proc *p = proc_of(req->pid, now);
	if (!p) {
		respond(c->id, 0, 0, true);
		return DONE;
	}
	uint64_t addr, len;
	if (c->nr == __NR_connect) {
		addr = req->data.args[1];
		len = req->data.args[2];
	} else if (c->nr == __NR_sendto) {
		addr = req->data.args[4];
		len = req->data.args[5];
	} else {
		struct msghdr mh;
		if (!read_memory_of(p, req->pid, req->data.args[1], &mh, sizeof mh)) {
			respond(c->id, 0, 0, true);
			return DONE;
		}
		addr = (uintptr_t)mh.msg_name;
		len = mh.msg_namelen;
	}
	/* An address the kernel would reject, or one we cannot read: the
	 * kernel answers. */
	if (!addr || len < sizeof(sa_family_t) || len > sizeof c->sa ||
	    !read_memory_of(p, req->pid, addr, &c->sa, len) ||
	    cr_dest_from_sockaddr((struct sockaddr *)&c->sa, (socklen_t)len, &c->dest) != 0) {
		respond(c->id, 0, 0, true);
		return DONE;
	}
	c->salen = (socklen_t)len;
	c->pid = p->tgid;
	memcpy(c->comm, p->comm, sizeof c->comm);
	c->gen = sv.current;
	struct later e;
	if (atomic_load(&nlaters) && c->nr == __NR_connect && take_socket(c, p, false) &&
	    later_take(p->tgid, c->dup, &e) && same_dest(&e.dest, &c->dest)) {
		/* A second connect() to a socket with an entry: the kernel
		 * answers; the program gets the simulated errno in place of
		 * its refusal, and a pass under audit is logged once settled. */
		int rc = connect(c->dup, (struct sockaddr *)&c->sa, c->salen), kerr = rc == 0 ? 0 : errno;
		respond(c->id, rc, kerr == ECONNREFUSED && e.err ? e.err : kerr, false);
		later_answered(&e, p, c->dup, kerr != EALREADY && kerr != EINPROGRESS, kerr == EISCONN ? 0 : kerr);
		close(c->dup);
		return DONE;
	}
	if (c->gen->rs->needs_sotype && c->dest.family != CR_FAM_UNIX)
		take_socket(c, p, true);
	struct cr_query q = { .dest = &c->dest, .sotype = c->sotype, .comm = p->comm, .exe = p->exe, .now = now,
			      .states = p->states };
	cr_decide(c->gen->rs, &q, &c->v);
	if (c->v.rule)
		snprintf(c->rule, sizeof c->rule, "%s", c->v.rule->name);
	bool audit = c->v.level >= CR_LEVEL_FAILURES && c->nr == __NR_connect;
	if (!c->v.simulate && !c->v.delay_ms && !audit) {
		/* The quiet path. (Were the call gone and its thread's number
		 * taken by another process since, the answer would only fail.) */
		respond(c->id, 0, 0, true);
		if (c->dup >= 0)
			close(c->dup);
		return DONE;
	}
	/* Before acting: the memory read was the calling thread's, still
	 * waiting in that very call. */
	if (ioctl(sv.listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &c->id) != 0) {
		if (c->dup >= 0)
			close(c->dup);
		return DONE;
	}
	if (c->v.simulate) {
		/* Another family than the address's: the kernel's own answer,
		 * as the library gives it. */
		if (take_socket(c, p, true) && c->domain != c->sa.ss_family) {
			close(c->dup);
			respond(c->id, 0, 0, true);
			return DONE;
		}
	} else if ((!take_socket(c, p, false) || (c->nonblock && !sv.so_error_trapped)) && !c->v.delay_ms) {
		/* A pass whose outcome the program learns later: unseen here. */
		if (c->dup >= 0)
			close(c->dup);
		respond(c->id, 0, 0, true);
		return DONE;
	}
	atomic_fetch_add(&c->gen->refs, 1);
	bool waits = c->v.delay_ms || (!c->v.simulate && !c->nonblock && c->dup >= 0);
	return waits ? ACT_LATER : ACT_NOW;
}

static void finish(struct call *c)
{
	if (c->dup >= 0)
		close(c->dup);
	generation_release(c->gen);
}

/* ---- the threads ---- */

/* Every idle thread waits in RECV: the kernel hands each call to one of
 * them. Deciding (the process table, the rules, a reload) is done under
 * state_lock; acting on a call is not. A thread about to wait (a delay, or
 * a blocking connect made for the audit) first makes sure another one is
 * left receiving. */
static pthread_mutex_t state_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t none_left = PTHREAD_COND_INITIALIZER;
static unsigned threads_alive, threads_receiving;              /* under count_lock */
static atomic_bool serving_done;
static pid_t child_pid;
static int child_status;

static void *serve(void *arg);

static void spawn_thread(void)
{
	pthread_t t;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_mutex_lock(&count_lock);
	if (pthread_create(&t, &attr, serve, NULL) == 0)
		threads_alive++;
	pthread_mutex_unlock(&count_lock);
	pthread_attr_destroy(&attr);
}

static void *serve(void *arg)
{
	(void)arg;
	struct seccomp_notif *req = calloc(1, sv.sizes.seccomp_notif);
	while (req && !atomic_load(&serving_done)) {
		memset(req, 0, sv.sizes.seccomp_notif);
		pthread_mutex_lock(&count_lock);
		threads_receiving++;
		pthread_mutex_unlock(&count_lock);
		int rc = ioctl(sv.listener, SECCOMP_IOCTL_NOTIF_RECV, req), err = errno;
		pthread_mutex_lock(&count_lock);
		bool alone = --threads_receiving == 0;
		pthread_mutex_unlock(&count_lock);
		if (rc != 0) {
			/* ENOENT with nothing: no process is left under the filter
			 * (or the call went away: then poll says so). */
			struct pollfd pf = { sv.listener, POLLIN, 0 };
			if (err != EINTR &&
			    (err != ENOENT || (poll(&pf, 1, 0) >= 0 && (pf.revents & (POLLHUP | POLLERR)))))
				atomic_store(&serving_done, true);
			continue;
		}
		struct call c;
		pthread_mutex_lock(&state_lock);
		enum next next = decide_call(req, &c);
		pthread_mutex_unlock(&state_lock);
		if (next == DONE)
			continue;
		if (next == ACT_LATER && alone)
			spawn_thread();
		act(&c);
		finish(&c);
	}
	free(req);
	pthread_mutex_lock(&count_lock);
	threads_alive--;
	pthread_cond_broadcast(&none_left);
	pthread_mutex_unlock(&count_lock);
	return NULL;
}

static void forward_signal(int sig)
{
	if (child_pid > 0)
		kill(child_pid, sig);
}

int cr_supervise(const char *config, char **prog)
{
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0) {
		perror("connrefuse: socketpair");
		return -1;
	}
	sv.config = config;
	char err[1024];
	struct cr_ruleset *rs = load_rules(err, sizeof err);
	if (!rs) {
		fprintf(stderr, "connrefuse: %s\n", err);
		return -1;
	}
	if (config && stat(config, &sv.config_stat) != 0)
		memset(&sv.config_stat, 0, sizeof sv.config_stat);
	sv.current = calloc(1, sizeof *sv.current);
	if (!sv.current)
		return -1;
	sv.current->rs = rs;
	atomic_init(&sv.current->refs, 1);
	sv.next_look = monotonic_now() + 1;
	for (unsigned i = 0; i < MAX_PROCS; i++)
		sv.procs[i].pidfd = sv.procs[i].memfd = -1;
	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sv.sizes) != 0) {
		fprintf(stderr, "connrefuse: run --seccomp: seccomp user notification is not available here (%s); "
				"nothing was run\n", strerror(errno));
		return -1;
	}

	/* SO_ERROR is trapped only if the rules at start can need it: a fail
	 * rule with an errno the kernel reports later, or a log level that
	 * audits (non-blocking connects learn their outcome there). */
	bool so_error = rs->log.level >= CR_LEVEL_FAILURES;
	for (unsigned i = 0; i < rs->nrules; i++)
		so_error |= (rs->rules[i].action == CR_ACT_FAIL && rs->rules[i].err != ECONNREFUSED &&
			     cr_err_reported_later(rs->rules[i].err)) ||
			    rs->rules[i].level >= CR_LEVEL_FAILURES;
#ifdef CR_AUDIT_ARCH
	sv.so_error_trapped = so_error;
	if (!so_error)
		filter[GETSOCKOPT].k = 0xffffffffu; /* no such system call */
#endif

	child_pid = fork();
	if (child_pid < 0) {
		perror("connrefuse: fork");
		return -1;
	}
	if (child_pid == 0) {
		close(sp[0]);
		child(sp[1], prog);
	}
	close(sp[1]);
	/* A pidfd for each process seen (MAX_PROCS): the supervisor's own
	 * descriptor limit goes up to the hard one (the program keeps its own). */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	char msg[512];
	sv.listener = recv_fd(sp[0], msg, sizeof msg);
	close(sp[0]);
	if (sv.listener < 0) {
		int status;
		waitpid(child_pid, &status, 0);
		fprintf(stderr, "connrefuse: run --seccomp: cannot supervise the program: %s; nothing was run\n",
			*msg ? msg : "the filter could not be installed");
		return -1;
	}

	/* The terminal's signals reach the program directly; others we pass on. */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	struct sigaction sa = { .sa_handler = forward_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	ioctl(sv.listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP); /* 6.6+; else without */

	/* Serve until no process is left under the filter (the program and
	 * every descendant have exited); the program's status is the answer. */
	pthread_mutex_lock(&count_lock);
	threads_alive++; /* this thread serves too */
	pthread_mutex_unlock(&count_lock);
	serve(NULL);
	pthread_mutex_lock(&count_lock);
	while (threads_alive)
		pthread_cond_wait(&none_left, &count_lock);
	pthread_mutex_unlock(&count_lock);
	while (waitpid(child_pid, &child_status, 0) < 0 && errno == EINTR)
		;
	cr_log_summary(&sv.current->rs->log, "connrefuse");
	close(sv.listener);
	signal(SIGINT, SIG_DFL);
	signal(SIGQUIT, SIG_DFL);
	return child_status;
}
