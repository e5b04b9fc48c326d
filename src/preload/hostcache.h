/* Names the process itself resolved: address -> the name it asked for
 * (getaddrinfo, gethostbyname...). Bounded (a fixed table; a newer entry
 * replaces an older one in its slot), thread-safe without a lock (a sequence
 * counter per slot; a reader retries a few times, then does without), and
 * safe across fork. The library never does DNS of its own. */
#ifndef CR_HOSTCACHE_H
#define CR_HOSTCACHE_H

#include "engine/addr.h"

#include <stdbool.h>
#include <stddef.h>

#define CR_HOST_MAX 256

/* family CR_FAM_INET (4 bytes of addr) or CR_FAM_INET6 (16). */
void cr_hostcache_put(int family, const void *addr, const char *name);
/* Copies the name for d's address into buf; false if unknown. */
bool cr_hostcache_get(const struct cr_dest *d, char *buf, size_t size);

#endif
