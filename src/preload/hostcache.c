#include "hostcache.h"

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#define SLOTS 4096

struct slot {
	atomic_uint seq; /* odd while written */
	uint8_t family;
	uint8_t addr[16];
	char name[CR_HOST_MAX];
};

static struct slot table[SLOTS];

static unsigned slot_index(int family, const uint8_t *addr)
{
	uint32_t h = 2166136261u ^ (uint32_t)family;
	unsigned n = family == CR_FAM_INET ? 4 : 16;
	for (unsigned i = 0; i < n; i++)
		h = (h ^ addr[i]) * 16777619u;
	return h % SLOTS;
}

void cr_hostcache_put(int family, const void *addr, const char *name)
{
	uint8_t key[16] = { 0 };
	memcpy(key, addr, family == CR_FAM_INET ? 4 : 16);
	struct slot *s = &table[slot_index(family, key)];
	unsigned seq = atomic_load(&s->seq);
	/* Another writer holds the slot: this name is dropped, as the map is
	 * bounded anyway. Never wait. */
	if ((seq & 1) || !atomic_compare_exchange_strong(&s->seq, &seq, seq + 1))
		return;
	s->family = (uint8_t)family;
	memcpy(s->addr, key, 16);
	size_t n = strnlen(name, CR_HOST_MAX - 1);
	memcpy(s->name, name, n);
	s->name[n] = '\0';
	atomic_store(&s->seq, seq + 2);
}

bool cr_hostcache_get(const struct cr_dest *d, char *buf, size_t size)
{
	if ((d->family != CR_FAM_INET && d->family != CR_FAM_INET6) || size == 0)
		return false;
	const struct slot *s = &table[slot_index(d->family, d->addr)];
	/* A slot left odd by a fork in mid-write stays odd: give up after a
	 * few tries rather than spin. */
	for (int tries = 0; tries < 4; tries++) {
		unsigned before = atomic_load(&s->seq);
		if (before & 1)
			continue;
		if (before == 0)
			return false;
		bool hit = s->family == d->family && memcmp(s->addr, d->addr, d->family == CR_FAM_INET ? 4 : 16) == 0;
		char tmp[CR_HOST_MAX];
		if (hit)
			memcpy(tmp, s->name, sizeof tmp);
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load(&s->seq) != before)
			continue;
		if (!hit)
			return false;
		tmp[CR_HOST_MAX - 1] = '\0';
		size_t n = strnlen(tmp, size - 1);
		memcpy(buf, tmp, n);
		buf[n] = '\0';
		return true;
	}
	return false;
}
