#include "pending.h"

#include <stdatomic.h>
#include <string.h>

enum { EMPTY, BUSY, FULL };

struct slot {
	atomic_uchar state;
	struct cr_pending p;
};

/* Zero-filled BSS: pages are only touched for descriptors that are used. */
static struct slot table[CR_PENDING_MAX];

static struct slot *slot_of(int fd)
{
	return fd >= 0 && fd < CR_PENDING_MAX ? &table[fd] : NULL;
}

bool cr_pending_maybe(int fd)
{
	struct slot *s = slot_of(fd);
	return s && atomic_load_explicit(&s->state, memory_order_relaxed) != EMPTY;
}

void cr_pending_set(int fd, const struct cr_pending *p)
{
	struct slot *s = slot_of(fd);
	if (!s)
		return;
	atomic_store_explicit(&s->state, BUSY, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	s->p = *p;
	atomic_store_explicit(&s->state, FULL, memory_order_release);
}

static bool claim(struct slot *s)
{
	unsigned char expect = FULL;
	return atomic_compare_exchange_strong(&s->state, &expect, BUSY);
}

bool cr_pending_take(int fd, struct cr_pending *out)
{
	struct slot *s = slot_of(fd);
	if (!s || !claim(s))
		return false;
	*out = s->p;
	atomic_store_explicit(&s->state, EMPTY, memory_order_release);
	return true;
}

bool cr_pending_peek(int fd, struct cr_pending *out)
{
	struct slot *s = slot_of(fd);
	if (!s || !claim(s))
		return false;
	*out = s->p;
	atomic_store_explicit(&s->state, FULL, memory_order_release);
	return true;
}

void cr_pending_clear(int fd)
{
	struct slot *s = slot_of(fd);
	if (s && atomic_load_explicit(&s->state, memory_order_relaxed) != EMPTY)
		atomic_store_explicit(&s->state, EMPTY, memory_order_release);
}

void cr_pending_clear_range(unsigned first, unsigned last)
{
	if (first >= CR_PENDING_MAX)
		return;
	if (last >= CR_PENDING_MAX)
		last = CR_PENDING_MAX - 1;
	for (unsigned fd = first; fd <= last; fd++)
		cr_pending_clear((int)fd);
}

bool cr_pending_same_dest(const struct cr_pending *p, const struct cr_dest *d)
{
	return p->family == d->family && p->port == d->port && p->mapped == d->mapped &&
	       memcmp(p->addr, d->addr, 16) == 0;
}

void cr_pending_dest(const struct cr_pending *p, struct cr_dest *d)
{
	memset(d, 0, sizeof *d);
	d->family = p->family;
	d->mapped = p->mapped;
	d->port = p->port;
	memcpy(d->addr, p->addr, 16);
}
