#include "fdtable.h"

#include <stdatomic.h>
#include <string.h>

enum { EMPTY, BUSY, FULL };

struct slot {
	_Atomic uint32_t sock; /* struct cr_sockinfo, one word: written and read whole */
	atomic_uchar state;    /* of the descriptor's record in `records` */
};

_Static_assert(sizeof(struct cr_sockinfo) == sizeof(uint32_t), "sockinfo is one word");

/* Zero-filled BSS: pages are only touched for descriptors that are used.
 * The records (a rule name each, whole) are apart, so that a connect's one
 * look at its entry reads 8 bytes, and their pages are touched only by
 * non-blocking connects. */
static struct slot table[CR_FD_MAX];
static struct cr_inflight records[CR_FD_MAX];

static struct slot *slot_of(int fd)
{
	return fd >= 0 && fd < CR_FD_MAX ? &table[fd] : NULL;
}

static uint32_t pack(struct cr_sockinfo i)
{
	uint32_t w;
	memcpy(&w, &i, sizeof w);
	return w;
}

static struct cr_sockinfo unpack(uint32_t w)
{
	struct cr_sockinfo i;
	memcpy(&i, &w, sizeof i);
	return i;
}

struct cr_fd_view cr_fd_look(int fd)
{
	struct slot *s = slot_of(fd);
	if (!s)
		return (struct cr_fd_view){ 0 };
	return (struct cr_fd_view){
		.sock = unpack(atomic_load_explicit(&s->sock, memory_order_relaxed)),
		.pending = atomic_load_explicit(&s->state, memory_order_relaxed) != EMPTY,
	};
}

/* ---- the socket ---- */

static void set_sock(struct slot *s, struct cr_sockinfo info)
{
	atomic_store_explicit(&s->sock, pack(info), memory_order_relaxed);
}

static void forget_sock(struct slot *s)
{
	if (atomic_load_explicit(&s->sock, memory_order_relaxed))
		atomic_store_explicit(&s->sock, 0, memory_order_relaxed);
}

static void clear_pending(struct slot *s)
{
	if (atomic_load_explicit(&s->state, memory_order_relaxed) != EMPTY)
		atomic_store_explicit(&s->state, EMPTY, memory_order_release);
}

void cr_fd_made(int fd, struct cr_sockinfo info)
{
	struct slot *s = slot_of(fd);
	if (!s)
		return;
	clear_pending(s);
	if (info.known)
		set_sock(s, info);
	else
		forget_sock(s);
}

void cr_fd_forget(int fd)
{
	struct slot *s = slot_of(fd);
	if (s) {
		clear_pending(s);
		forget_sock(s);
	}
}

void cr_fd_forget_range(unsigned first, unsigned last)
{
	if (first >= CR_FD_MAX)
		return;
	if (last >= CR_FD_MAX)
		last = CR_FD_MAX - 1;
	for (unsigned fd = first; fd <= last; fd++)
		cr_fd_forget((int)fd);
}

void cr_fd_shared(int fd)
{
	struct slot *s = slot_of(fd);
	if (s)
		forget_sock(s);
}

static void update(int fd, bool nonblock_bit, bool value)
{
	struct slot *s = slot_of(fd);
	if (!s)
		return;
	struct cr_sockinfo i = unpack(atomic_load_explicit(&s->sock, memory_order_relaxed));
	if (!i.known || (nonblock_bit ? i.nonblock : i.fresh) == value)
		return;
	if (nonblock_bit)
		i.nonblock = value;
	else
		i.fresh = value;
	set_sock(s, i);
}

void cr_fd_set_nonblock(int fd, bool nonblock)
{
	update(fd, true, nonblock);
}

void cr_fd_set_fresh(int fd, bool fresh)
{
	update(fd, false, fresh);
}

/* ---- the connect in flight ---- */

bool cr_fd_pending_maybe(int fd)
{
	struct slot *s = slot_of(fd);
	return s && atomic_load_explicit(&s->state, memory_order_relaxed) != EMPTY;
}

void cr_fd_pending_set(int fd, const struct cr_inflight *f)
{
	struct slot *s = slot_of(fd);
	if (!s)
		return;
	atomic_store_explicit(&s->state, BUSY, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	records[fd] = *f;
	atomic_store_explicit(&s->state, FULL, memory_order_release);
}

static bool claim(struct slot *s)
{
	unsigned char expect = FULL;
	return atomic_compare_exchange_strong(&s->state, &expect, BUSY);
}

bool cr_fd_pending_take(int fd, struct cr_inflight *out)
{
	struct slot *s = slot_of(fd);
	if (!s || !claim(s))
		return false;
	*out = records[fd];
	atomic_store_explicit(&s->state, EMPTY, memory_order_release);
	return true;
}

bool cr_fd_pending_peek(int fd, struct cr_inflight *out)
{
	struct slot *s = slot_of(fd);
	if (!s || !claim(s))
		return false;
	*out = records[fd];
	atomic_store_explicit(&s->state, FULL, memory_order_release);
	return true;
}

void cr_fd_pending_clear(int fd)
{
	struct slot *s = slot_of(fd);
	if (s)
		clear_pending(s);
}
