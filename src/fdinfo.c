#include "fdinfo.h"
#include "pending.h"

#include <stdatomic.h>
#include <string.h>

/* One 32-bit word a descriptor, written and read whole: no torn entries. */
static _Atomic uint32_t table[CR_PENDING_MAX];

static uint32_t pack(struct cr_fdinfo i)
{
	uint32_t w;
	memcpy(&w, &i, sizeof w);
	return w;
}

static struct cr_fdinfo unpack(uint32_t w)
{
	struct cr_fdinfo i;
	memcpy(&i, &w, sizeof i);
	return i;
}

_Static_assert(sizeof(struct cr_fdinfo) == sizeof(uint32_t), "fdinfo is one word");

struct cr_fdinfo cr_fdinfo_get(int fd)
{
	if (fd < 0 || fd >= CR_PENDING_MAX)
		return (struct cr_fdinfo){ 0 };
	return unpack(atomic_load_explicit(&table[fd], memory_order_relaxed));
}

void cr_fdinfo_set(int fd, struct cr_fdinfo info)
{
	if (fd >= 0 && fd < CR_PENDING_MAX)
		atomic_store_explicit(&table[fd], pack(info), memory_order_relaxed);
}

void cr_fdinfo_forget(int fd)
{
	if (fd >= 0 && fd < CR_PENDING_MAX && atomic_load_explicit(&table[fd], memory_order_relaxed))
		atomic_store_explicit(&table[fd], 0, memory_order_relaxed);
}

void cr_fdinfo_forget_range(unsigned first, unsigned last)
{
	if (first >= CR_PENDING_MAX)
		return;
	if (last >= CR_PENDING_MAX)
		last = CR_PENDING_MAX - 1;
	for (unsigned fd = first; fd <= last; fd++)
		cr_fdinfo_forget((int)fd);
}

void cr_fdinfo_set_nonblock(int fd, bool nonblock)
{
	struct cr_fdinfo i = cr_fdinfo_get(fd);
	if (i.known && i.nonblock != nonblock) {
		i.nonblock = nonblock;
		cr_fdinfo_set(fd, i);
	}
}

void cr_fdinfo_set_fresh(int fd, bool fresh)
{
	struct cr_fdinfo i = cr_fdinfo_get(fd);
	if (i.known && i.fresh != fresh) {
		i.fresh = fresh;
		cr_fdinfo_set(fd, i);
	}
}
