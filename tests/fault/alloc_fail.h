/* A test build's allocation wrapper (make check, t_fault_alloc): forced in
 * front of every engine and rule-set-in-force source with -include, it
 * makes the project's own allocations (and nothing of libconfig's, or of
 * the C library's own) fail at the cr_fault_at-th call. The system headers
 * come first, so that no declaration meets the macros. */
#ifndef CR_ALLOC_FAIL_H
#define CR_ALLOC_FAIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

extern unsigned long cr_fault_at;    /* 0: never fail */
extern unsigned long cr_fault_count; /* allocations so far */

static inline int cr_fault_now(void)
{
	return ++cr_fault_count == cr_fault_at;
}

#define malloc(n) (cr_fault_now() ? NULL : malloc(n))
#define calloc(n, s) (cr_fault_now() ? NULL : calloc(n, s))
#define realloc(p, n) (cr_fault_now() ? NULL : realloc(p, n))
#define aligned_alloc(a, n) (cr_fault_now() ? NULL : aligned_alloc(a, n))
#define strdup(s) (cr_fault_now() ? NULL : strdup(s))
#define strndup(s, n) (cr_fault_now() ? NULL : strndup(s, n))
#define open_memstream(b, l) (cr_fault_now() ? NULL : open_memstream(b, l))
#define mmap(a, l, p, f, fd, o) (cr_fault_now() ? MAP_FAILED : mmap(a, l, p, f, fd, o))

#endif
