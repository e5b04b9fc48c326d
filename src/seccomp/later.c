/* Non-blocking connects whose outcome the program learns later (from
 * getsockopt(SO_ERROR) or a second connect()), where the supervisor looks:
 * a simulated failure whose errno is not the refusal the kernel holds (the
 * supervisor puts the errno there), and a pass under audit (its outcome is
 * logged there). A socket is known by its process and inode (descriptor
 * numbers are reused). The table is this module's own, behind its lock. */
#include "seccomp.h"

#include <string.h>
#include <sys/stat.h>

/* 128 buckets of 32: a socket's entry lives in the bucket of its hash, so
 * that thousands of connects in flight at once each keep theirs. */
#define LATER_BUCKETS 128
#define LATER_BUCKET 32
static struct cr_later laters[LATER_BUCKETS][LATER_BUCKET];
static pthread_mutex_t laters_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int nlaters; /* entries in use: the common case looks no further */

static ino_t inode_of(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 ? st.st_ino : 0;
}

static struct cr_later *later_bucket(pid_t tgid, ino_t ino)
{
	uint64_t h = ((uint64_t)(uint32_t)tgid * 0x9e3779b97f4a7c15ULL) ^ ((uint64_t)ino * 0xbf58476d1ce4e5b9ULL);
	return laters[(h >> 40) % LATER_BUCKETS];
}

/* Keeps e (its tgid and ino set). When its bucket is full, the oldest entry
 * gives way, an audit's before a simulated errno's: sockets the program
 * closed without asking stay until then. */
void cr_later_keep(const struct cr_later *e)
{
	static unsigned long seq;
	struct cr_later *bucket = later_bucket(e->tgid, e->ino), *slot = NULL, *empty = NULL, *oldest = &bucket[0];
	pthread_mutex_lock(&laters_lock);
	for (unsigned i = 0; i < LATER_BUCKET && !slot; i++) {
		struct cr_later *l = &bucket[i];
		if (l->tgid == e->tgid && l->ino == e->ino)
			slot = l;
		else if (l->tgid == 0)
			empty = empty ? empty : l;
		else if ((l->f.err == 0) > (oldest->f.err == 0) ||
			 ((l->f.err == 0) == (oldest->f.err == 0) && l->seq < oldest->seq))
			oldest = l;
	}
	slot = slot ? slot : empty ? empty : oldest;
	if (slot->tgid == 0)
		atomic_fetch_add(&nlaters, 1);
	*slot = *e;
	slot->seq = ++seq;
	pthread_mutex_unlock(&laters_lock);
}

void cr_later_put(const struct cr_call *c, int err)
{
	struct cr_later e = { .tgid = c->pid, .ino = inode_of(c->dup) };
	struct cr_attempt a = cr_sv_attempt_of(c);
	cr_inflight_make(&e.f, &a, err, err != 0);
	cr_later_keep(&e);
}

bool cr_later_take(pid_t tgid, int dup, struct cr_later *out)
{
	if (atomic_load(&nlaters) == 0)
		return false;
	ino_t ino = inode_of(dup);
	struct cr_later *bucket = later_bucket(tgid, ino);
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

bool cr_later_any(void)
{
	return atomic_load(&nlaters) != 0;
}
