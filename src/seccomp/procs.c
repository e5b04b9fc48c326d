/* The processes under run --seccomp: which process a trapped thread
 * belongs to, its program (an exec makes it another process, with its
 * counters started again, as the preload library's are), its rule
 * counters, and reading its memory. */
#define _GNU_SOURCE
#include "seccomp.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

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
bool cr_sv_read_memory(struct cr_proc *p, pid_t tid, uint64_t addr, void *buf, size_t len)
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
static bool image_of(struct cr_proc *p, uint8_t id[16])
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
			return cr_sv_read_memory(p, p->tgid, av[i + 1], id, 16);
	return false;
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

static void proc_drop(struct cr_sv *sv, struct cr_proc *p)
{
	for (unsigned i = 0; i < CR_MAX_THREADS; i++)
		if (sv->threads[i].tid && sv->threads[i].proc == (uint16_t)(p - sv->procs))
			sv->threads[i].checked = -1e9; /* read again */
	if (p->pidfd >= 0)
		close(p->pidfd);
	if (p->memfd >= 0)
		close(p->memfd);
	free(p->states);
	memset(p, 0, sizeof *p);
	p->pidfd = p->memfd = -1;
}

struct carry {
	struct cr_rule_state *to;
	const struct cr_rule_state *from;
};

static void carry_one(uint32_t fresh_sched, uint32_t old_sched, void *arg)
{
	struct carry *c = arg;
	atomic_store(&c->to[fresh_sched].n.attempts, atomic_load(&c->from[old_sched].n.attempts));
	atomic_store(&c->to[fresh_sched].n.started, atomic_load(&c->from[old_sched].n.started));
	atomic_store(&c->to[fresh_sched].n.fired, atomic_load(&c->from[old_sched].n.fired));
}

/* Fresh counters for the scheduled rules of g; those of rules that
 * continue a rule of the process's previous generation keep counting. */
static struct cr_rule_state *states_for(struct cr_generation *g, const struct cr_proc *p, double now)
{
	struct cr_rule_state *st = calloc(g->rs->nscheds + 1, sizeof *st);
	if (!st)
		return NULL;
	for (unsigned i = 0; i < g->rs->nscheds; i++)
		atomic_init(&st[i].n.started, now);
	if (p->gen && p->states) {
		struct carry c = { st, p->states };
		cr_ruleset_each_continued(g->rs, p->gen->rs, carry_one, &c);
	}
	return st;
}

static struct cr_thread *thread_slot(struct cr_sv *sv, pid_t tid)
{
	uint32_t i = ((uint32_t)tid * 2654435761u) & (CR_MAX_THREADS - 1);
	for (unsigned probes = 0; probes < 8; probes++, i = (i + 1) & (CR_MAX_THREADS - 1))
		if (sv->threads[i].tid == tid || sv->threads[i].tid == 0)
			return &sv->threads[i];
	return &sv->threads[((uint32_t)tid * 2654435761u) & (CR_MAX_THREADS - 1)]; /* full: replace */
}

/* An exec is under way in tid's process: what we know of it is read again
 * at its next call, and if the exec happened (its image is new), its
 * counters start again, as the preload library's do in the new program. A
 * thread never seen before is looked up: it may exec for a process others
 * connected for. */
void cr_sv_forget_process_of(struct cr_sv *sv, pid_t tid)
{
	struct cr_thread *t = thread_slot(sv, tid);
	pid_t tgid;
	char comm[16], exe[256];
	if (t->tid == tid)
		tgid = sv->procs[t->proc].tgid;
	else if (!read_process(tid, &tgid, comm, sizeof comm, exe, sizeof exe))
		return;
	for (unsigned i = 0; i < CR_MAX_PROCS; i++) {
		struct cr_proc *p = &sv->procs[i];
		if (p->tgid != tgid)
			continue;
		p->exec_pending = true;
		if (p->memfd >= 0) { /* it would read the old program's memory */
			close(p->memfd);
			p->memfd = -1;
		}
	}
	for (unsigned i = 0; i < CR_MAX_THREADS; i++)
		if (sv->threads[i].tid && sv->procs[sv->threads[i].proc].tgid == tgid)
			sv->threads[i].checked = -1e9;
}

struct cr_proc *cr_sv_proc_of(struct cr_sv *sv, pid_t tid, double now)
{
	struct cr_thread *t = thread_slot(sv, tid);
	struct cr_proc *p = NULL;
	if (t->tid == tid && now - t->checked < 1.0) {
		p = &sv->procs[t->proc];
	} else {
		pid_t tgid;
		char comm[16], exe[256];
		if (!read_process(tid, &tgid, comm, sizeof comm, exe, sizeof exe))
			return NULL;
		struct cr_proc *victim = &sv->procs[0];
		for (unsigned i = 0; i < CR_MAX_PROCS; i++) {
			struct cr_proc *q = &sv->procs[i];
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
				proc_drop(sv, p); /* its slot takes the new image */
				victim = p;
				p = NULL;
			} else {
				p->exec_pending = false;
			}
		}
		if (!p) {
			/* A new process, or one that executed a program. */
			for (unsigned i = 0; i < CR_MAX_PROCS; i++)
				if (sv->procs[i].tgid == tgid)
					proc_drop(sv, &sv->procs[i]);
			if (victim->tgid)
				proc_drop(sv, victim);
			p = victim;
			p->tgid = tgid;
			p->pidfd = (int)syscall(SYS_pidfd_open, tgid, 0);
			snprintf(p->exe, sizeof p->exe, "%s", exe);
			image_of(p, p->image);
		}
		snprintf(p->comm, sizeof p->comm, "%s", comm);
		*t = (struct cr_thread){ .tid = tid, .proc = (uint16_t)(p - sv->procs), .checked = now };
	}
	if (p->gen != sv->current) {
		struct cr_rule_state *st = states_for(sv->current, p, now);
		if (!st)
			return NULL;
		free(p->states);
		p->states = st;
		p->gen = sv->current;
	}
	p->last_used = ++sv->clock;
	return p;
}

bool cr_sv_uses_generation(const struct cr_sv *sv, const struct cr_generation *g)
{
	for (unsigned i = 0; i < CR_MAX_PROCS; i++)
		if (sv->procs[i].gen == g)
			return true;
	return false;
}
