/* Fuzz target: log-line escaping. Whatever bytes a unix path, a hostname or
 * a rule name holds, an event formats as exactly one line (no newline, no
 * carriage return), NUL-terminated within its buffer, and, when nothing was
 * cut, parses back to the same keys in the spec's order with the same
 * values; stamped as log.file writes it (the host as the machine), it
 * parses back to time, machine, then the same keys. The input is split at
 * its first 0xff byte: path, then host. */
#include "fuzz.h"
#include "engine/logfmt.h"
#include "engine/logparse.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct readback {
	const char *keys[16];
	char values[16][CR_LOG_LINE_MAX];
	int n;
};

static void take(const char *key, const char *value, void *arg)
{
	struct readback *rb = arg;
	if (rb->n < 16) {
		rb->keys[rb->n] = key;
		strncpy(rb->values[rb->n], value, CR_LOG_LINE_MAX - 1);
		rb->values[rb->n][CR_LOG_LINE_MAX - 1] = '\0';
		rb->n++;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *cut = memchr(data, 0xff, size);
	size_t path_len = cut ? (size_t)(cut - data) : size;
	struct cr_dest d = { .family = CR_FAM_UNIX };
	if (path_len > sizeof d.path - 2)
		path_len = sizeof d.path - 2;
	memcpy(d.path, data, path_len);
	d.path_len = (uint16_t)path_len;
	char host[300] = "";
	if (cut) {
		size_t host_len = size - (size_t)(cut - data) - 1;
		if (host_len > sizeof host - 1)
			host_len = sizeof host - 1;
		memcpy(host, cut + 1, host_len);
	}
	struct cr_event ev = { .result = CR_RES_REFUSED,
			       .simulated = true,
			       .rule = host[0] ? host : NULL,
			       .action = CR_ACT_REFUSE,
			       .pid = 42,
			       .comm = "fuzz",
			       .dest = &d,
			       .host = host[0] ? host : NULL,
			       .proto = "unix",
			       .err = ECONNREFUSED };

	static const size_t sizes[] = { 16, 100, CR_LOG_LINE_MAX };
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		char line[CR_LOG_LINE_MAX];
		memset(line, 'x', sizeof line);
		size_t n = cr_log_format(&ev, line, sizes[i]);
		FUZZ_ASSERT(n < sizes[i]);
		FUZZ_ASSERT(line[n] == '\0');
		FUZZ_ASSERT(strlen(line) == n);
		FUZZ_ASSERT(!memchr(line, '\n', n) && !memchr(line, '\r', n));
		if (sizes[i] != CR_LOG_LINE_MAX || n + 1 >= sizes[i] || memchr(d.path, '\0', path_len))
			continue;
		/* The whole line fitted: it reads back exactly. */
		static struct readback rb;
		static char orig[CR_LOG_LINE_MAX];
		memcpy(orig, line, n + 1); /* the parser splits in place */
		rb.n = 0;
		cr_logfmt_parse(line, take, &rb);
		FUZZ_ASSERT(rb.n >= 8);
		FUZZ_ASSERT(strcmp(rb.keys[0], "result") == 0 && strcmp(rb.values[0], "refused") == 0);
		int k = 0;
		for (; k < rb.n && strcmp(rb.keys[k], "dst") != 0; k++)
			;
		FUZZ_ASSERT(k < rb.n);
		char expect[sizeof d.path + 8];
		cr_dest_format(&d, expect, sizeof expect);
		FUZZ_ASSERT(strcmp(rb.values[k], expect) == 0);
		if (ev.host) {
			FUZZ_ASSERT(k + 1 < rb.n && strcmp(rb.keys[k + 1], "host") == 0);
			FUZZ_ASSERT(strcmp(rb.values[k + 1], host) == 0);
			FUZZ_ASSERT(strcmp(rb.keys[2], "rule") == 0 && strcmp(rb.values[2], host) == 0);
		}
		/* Stamped: time and machine first, then the same keys. */
		static char stamped[CR_LOG_LINE_MAX + CR_LOG_STAMP_MAX];
		char machine[65]; /* a host name: at most 64 bytes (uname) */
		snprintf(machine, sizeof machine, "%s", host[0] ? host : "m");
		struct cr_stamp st = { .time = { .tv_sec = 1796514278, .tv_nsec = 1000 }, .machine = machine };
		struct cr_line l;
		cr_line_begin_stamped(&l, stamped, sizeof stamped, false, &st);
		cr_line_keys_of(&l, orig, n);
		size_t sn = cr_line_end(&l);
		FUZZ_ASSERT(sn == strlen(stamped));
		FUZZ_ASSERT(!memchr(stamped, '\n', sn));
		int before = rb.n;
		static struct readback sb;
		sb.n = 0;
		cr_logfmt_parse(stamped, take, &sb);
		FUZZ_ASSERT(sb.n == (before < 14 ? before + 2 : 16));
		FUZZ_ASSERT(strcmp(sb.keys[0], "time") == 0 &&
			    strcmp(sb.values[0], "2026-12-05T23:44:38.000001Z") == 0);
		FUZZ_ASSERT(strcmp(sb.keys[1], "machine") == 0 && strcmp(sb.values[1], st.machine) == 0);
		FUZZ_ASSERT(strcmp(sb.keys[2], "result") == 0 && strcmp(sb.values[2], "refused") == 0);
	}
	return 0;
}
