/* rss_kb(): the resident size of this process, in KiB (0 if unknown).
 * Shared by the stress test and the benchmark. */
#ifndef CR_TEST_RSS_H
#define CR_TEST_RSS_H

#include <stdio.h>
#include <unistd.h>

static inline long rss_kb(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

#endif
