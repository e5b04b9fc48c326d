/* Tables read at random by the decision: cache-line aligned, and on huge
 * pages when big. */
#define _GNU_SOURCE
#include "bigmem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Each table starts 64 bytes into its own allocation, after a header that
 * says how to give it back. */
struct big_header {
	void *base;
	size_t mapped; /* 0: from malloc */
};
#define BIG_HEAD 64

void *cr_big_calloc(size_t bytes)
{
	const size_t huge = 2u << 20;
	if (bytes < 2 * huge) {
		char *p = aligned_alloc(BIG_HEAD, (bytes + BIG_HEAD + BIG_HEAD - 1) / BIG_HEAD * BIG_HEAD);
		if (!p)
			return NULL;
		memset(p + BIG_HEAD, 0, bytes);
		*(struct big_header *)(p + BIG_HEAD - sizeof(struct big_header)) = (struct big_header){ p, 0 };
		return p + BIG_HEAD;
	}
	/* Fresh pages (zero already, so no pass to clear them), the table
	 * starting on a huge page boundary. Big tables are read at random: on
	 * huge pages a look-up costs no TLB miss (THP "madvise" mode asks for
	 * this). */
	size_t len = bytes + 2 * huge;
	char *base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return NULL;
	char *data = (char *)(((uintptr_t)base + BIG_HEAD + huge - 1) & ~(uintptr_t)(huge - 1));
	madvise(data, (bytes + huge - 1) / huge * huge, MADV_HUGEPAGE);
	*(struct big_header *)(data - sizeof(struct big_header)) = (struct big_header){ base, len };
	return data;
}

void cr_big_free(void *p)
{
	if (!p)
		return;
	struct big_header h = *(struct big_header *)((char *)p - sizeof(struct big_header));
	if (h.mapped)
		munmap(h.base, h.mapped);
	else
		free(h.base);
}
