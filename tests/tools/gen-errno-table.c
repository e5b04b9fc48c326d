/* Regenerates the errno rows of src/engine/errtab.c from the C library:
 * cc -o gen tests/tools/gen-errno-table.c && ./gen */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <errno.h>
int main(void)
{
	for (int e = 1; e < 4096; e++) {
		const char *n = strerrorname_np(e);
		if (!n)
			continue;
		printf("    { %3d, \"%s\", \"%s\" },\n", e, n, strerrordesc_np(e));
	}
}
