/* Fuzz target: addresses. The first byte picks the form:
 *   even: the rest is a connect() address of exactly that length, read
 *         into a buffer of that size (so an over-read is caught), then
 *         formatted into buffers of several sizes;
 *   odd:  the rest is config text for an address or CIDR; what parses
 *         must format and parse back to the same prefix. */
#include "engine/addr.h"
#include "fuzz.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static void format_everywhere(const struct cr_dest *d)
{
	static const size_t sizes[] = { 1, 2, 8, 24, 64, 256 };
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		char buf[256];
		memset(buf, 'x', sizeof buf);
		size_t n = cr_dest_format(d, buf, sizes[i]);
		FUZZ_ASSERT(n < sizes[i]);
		FUZZ_ASSERT(buf[n] == '\0');
		/* An abstract name may hold NULs: its length is the byte count. */
		bool nul_inside = d->family == CR_FAM_UNIX && memchr(d->path, '\0', d->path_len);
		FUZZ_ASSERT(nul_inside ? strlen(buf) <= n : strlen(buf) == n);
	}
}

static void sockaddr_case(const uint8_t *data, size_t size)
{
	void *sa = malloc(size ? size : 1);
	if (!sa)
		return;
	memcpy(sa, data, size);
	struct cr_dest d;
	if (cr_dest_from_sockaddr(size ? sa : NULL, (socklen_t)size, &d) == 0) {
		FUZZ_ASSERT(d.family == CR_FAM_INET || d.family == CR_FAM_INET6 || d.family == CR_FAM_UNIX);
		if (d.family == CR_FAM_UNIX) {
			FUZZ_ASSERT(d.path_len < sizeof d.path);
			FUZZ_ASSERT(d.path[d.path_len] == '\0');
		}
		format_everywhere(&d);
	}
	free(sa);
}

static void prefix_case(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return;
	memcpy(text, data, size);
	text[size] = '\0';
	struct cr_prefix p;
	if (cr_prefix_parse(text, &p) == CR_PREFIX_OK) {
		FUZZ_ASSERT(p.family == CR_FAM_INET || p.family == CR_FAM_INET6);
		FUZZ_ASSERT(p.len <= (p.family == CR_FAM_INET ? 32 : 128));
		char buf[64];
		size_t n = cr_prefix_format(&p, buf, sizeof buf);
		FUZZ_ASSERT(n < sizeof buf);
		struct cr_prefix back;
		FUZZ_ASSERT(cr_prefix_parse(buf, &back) == CR_PREFIX_OK);
		FUZZ_ASSERT(back.family == p.family && back.len == p.len);
		FUZZ_ASSERT(memcmp(back.addr, p.addr, p.family == CR_FAM_INET ? 4 : 16) == 0);
		struct cr_dest d = { .family = p.family };
		memcpy(d.addr, p.addr, sizeof d.addr);
		FUZZ_ASSERT(cr_prefix_match(&p, &d));
	}
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] % 2 == 0)
		sockaddr_case(data + 1, size - 1);
	else
		prefix_case(data + 1, size - 1);
	return 0;
}
