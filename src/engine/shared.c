/* Schedule state shared across processes (shared.h). */
#define _GNU_SOURCE
#include "shared.h"
#include "rules_impl.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MAGIC 0x3165746174737263ULL /* "crstate1", little-endian */
#define VERSION 1u

_Static_assert(sizeof(struct cr_shared_head) == 64, "the header is one cache line");
_Static_assert(sizeof(struct cr_shared_slot) == 32, "two slots a cache line");

size_t cr_shared_size(void)
{
	return sizeof(struct cr_shared_head) + CR_SHARED_SLOTS * sizeof(struct cr_shared_slot);
}

static uint64_t fnv(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

const char *cr_shared_runtime_dir(const char *xdg)
{
	struct stat st;
	if (!xdg || xdg[0] != '/' || cr_stat(xdg, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077))
		return NULL;
	return xdg;
}

int cr_shared_file_path(const char *rules, const char *dir, unsigned uid, char *out, size_t size)
{
	int n = dir ? snprintf(out, size, "%s/connrefuse-file-%016llx", dir, (unsigned long long)fnv(rules))
		    : snprintf(out, size, "/dev/shm/connrefuse-%u-file-%016llx", uid, (unsigned long long)fnv(rules));
	return n > 0 && (size_t)n < size ? 0 : -1;
}

/* Checks what fd is (ours, private, regular, the right size, our header)
 * and maps it. */
static int map_checked(struct cr_shared *sh, int fd, const char *path, char *err, size_t errsize)
{
	struct stat st;
	if (cr_fstat(fd, &st) != 0) {
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		return -1;
	}
	const char *why = !S_ISREG(st.st_mode)     ? "not a regular file"
			  : st.st_uid != geteuid() ? "owned by another user"
			  : (st.st_mode & 077)     ? "readable or writable by others (it must be 0600)"
			  : (size_t)st.st_size != cr_shared_size()
				  ? "of the wrong size (truncated, or not a state file)"
				  : NULL;
	if (why) {
		snprintf(err, errsize, "%s is %s", path, why);
		return -1;
	}
	void *m = mmap(NULL, cr_shared_size(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		snprintf(err, errsize, "%s: cannot map it: %s", path, strerror(errno));
		return -1;
	}
	const struct cr_shared_head *h = m;
	if (h->magic != MAGIC || h->version != VERSION || h->slots != CR_SHARED_SLOTS) {
		munmap(m, cr_shared_size());
		snprintf(err, errsize, "%s is not a connrefuse state file of this version (its header is wrong)", path);
		return -1;
	}
	sh->head = m;
	sh->slots = (struct cr_shared_slot *)((char *)m + sizeof *h);
	sh->len = cr_shared_size();
	return 0;
}

/* Writes a fresh state file at tmp (created exclusively, private) and
 * links it to path: nobody ever sees it half made. 0, or -1 with errno
 * (EEXIST: path was there first). */
static int create_at(const char *tmp, const char *path)
{
	int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0)
		return -1;
	struct cr_shared_head h = { .magic = MAGIC, .version = VERSION, .slots = CR_SHARED_SLOTS };
	int rc = -1;
	if (ftruncate(fd, (off_t)cr_shared_size()) == 0 && pwrite(fd, &h, sizeof h, 0) == (ssize_t)sizeof h)
		rc = link(tmp, path);
	int saved = errno;
	unlink(tmp);
	cr_close(fd);
	errno = saved;
	return rc;
}

static void tmp_name(const char *path, char *out, size_t size)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(out, size, "%s.%d.%ld.tmp", path, (int)getpid(), (long)ts.tv_nsec);
}

int cr_shared_open(struct cr_shared *sh, const char *path, bool create, char *err, size_t errsize)
{
	memset(sh, 0, sizeof *sh);
	for (int tries = 0; tries < 3; tries++) {
		int fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		if (fd >= 0) {
			int rc = map_checked(sh, fd, path, err, errsize);
			cr_close(fd);
			return rc;
		}
		if (errno != ENOENT || !create)
			break;
		char tmp[4200];
		tmp_name(path, tmp, sizeof tmp);
		if (create_at(tmp, path) != 0 && errno != EEXIST)
			break;
	}
	snprintf(err, errsize, "%s: %s", path, errno == ELOOP ? "a symbolic link (not followed)" : strerror(errno));
	return -1;
}

void cr_shared_close(struct cr_shared *sh)
{
	if (sh->head)
		munmap(sh->head, sh->len);
	memset(sh, 0, sizeof *sh);
}

int cr_shared_create_run(const char *dir, unsigned uid, char *out, size_t size, char *err, size_t errsize)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int n = dir ? snprintf(out, size, "%s/connrefuse-run-%d-%lx", dir, (int)getpid(), (unsigned long)ts.tv_nsec)
		    : snprintf(out, size, "/dev/shm/connrefuse-%u-run-%d-%lx", uid, (int)getpid(),
			       (unsigned long)ts.tv_nsec);
	if (n <= 0 || (size_t)n >= size) {
		snprintf(err, errsize, "the state file's path is too long");
		return -1;
	}
	char tmp[4200];
	tmp_name(out, tmp, sizeof tmp);
	if (create_at(tmp, out) != 0) {
		snprintf(err, errsize, "%s: %s", out, strerror(errno));
		return -1;
	}
	return 0;
}

/* Slot i of the probe sequence of identity. */
static uint32_t probe(uint64_t identity, uint32_t i)
{
	return (uint32_t)((identity ^ (identity >> 32)) + i) & (CR_SHARED_SLOTS - 1);
}

struct cr_counts *cr_shared_counts(const struct cr_shared *sh, uint64_t identity, double now)
{
	for (uint32_t i = 0; i < CR_SHARED_PROBES; i++) {
		struct cr_shared_slot *s = &sh->slots[probe(identity, i)];
		uint64_t id = atomic_load(&s->identity);
		if (id == 0 && atomic_compare_exchange_strong(&s->identity, &id, identity)) {
			double zero = 0;
			atomic_compare_exchange_strong(&s->n.started, &zero, now);
			return &s->n;
		}
		if (id == identity)
			return &s->n;
	}
	return NULL;
}

const struct cr_counts *cr_shared_find(const struct cr_shared *sh, uint64_t identity)
{
	for (uint32_t i = 0; i < CR_SHARED_PROBES; i++) {
		const struct cr_shared_slot *s = &sh->slots[probe(identity, i)];
		if (atomic_load(&s->identity) == identity)
			return &s->n;
	}
	return NULL;
}

void cr_shared_bump(const struct cr_shared *sh)
{
	atomic_fetch_add_explicit(&sh->head->generation, 1, memory_order_release);
}

static bool kept(const uint64_t *keep, size_t n, uint64_t id)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (keep[mid] == id)
			return true;
		if (keep[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

void cr_shared_forget_others(const struct cr_shared *sh, const uint64_t *keep, size_t nkeep)
{
	for (uint32_t i = 0; i < CR_SHARED_SLOTS; i++) {
		struct cr_shared_slot *s = &sh->slots[i];
		uint64_t id = atomic_load(&s->identity);
		if (id && !kept(keep, nkeep, id)) {
			atomic_store(&s->n.attempts, 0);
			atomic_store(&s->n.fired, 0);
			atomic_store(&s->n.started, 0.0);
			atomic_compare_exchange_strong(&s->identity, &id, 0);
		}
	}
}

void cr_shared_reset(const struct cr_shared *sh, const uint64_t *ids, size_t nids, double now)
{
	for (uint32_t i = 0; i < CR_SHARED_SLOTS; i++) {
		struct cr_shared_slot *s = &sh->slots[i];
		uint64_t id = atomic_load(&s->identity);
		if (id && kept(ids, nids, id)) {
			atomic_store(&s->n.attempts, 0);
			atomic_store(&s->n.fired, 0);
			atomic_store(&s->n.started, now);
		}
	}
}

void cr_ruleset_attach_shared(struct cr_ruleset *rs, const struct cr_shared *run, const struct cr_shared *file,
			      double now)
{
	for (uint32_t s = 0; s < rs->nscheds; s++) {
		struct cr_rule_state *st = cr_ruleset_sched_state(rs, s);
		if (!st)
			return;
		int scope;
		uint64_t id = cr_ruleset_sched_identity(rs, s, &scope);
		if (scope == CR_SHARE_DEFAULT)
			scope = run && run->head ? CR_SHARE_RUN : CR_SHARE_FILE;
		const struct cr_shared *sh = scope == CR_SHARE_RUN ? run : scope == CR_SHARE_FILE ? file : NULL;
		struct cr_counts *c = sh && sh->head ? cr_shared_counts(sh, id, now) : NULL;
		st->scope = c ? (uint8_t)scope : CR_SHARE_PROCESS;
		if (c) {
			st->shared = c;
			st->mapped = true;
		}
	}
}
