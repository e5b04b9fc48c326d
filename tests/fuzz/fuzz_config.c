/* Fuzz target: config loading. Any text either loads into a rule set that
 * prints, decides and frees cleanly, or fails with one "NAME:LINE: problem"
 * message; never a crash, a leak or an unterminated message. */
#include "engine/config.h"
#include "engine/decide.h"
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	char err[512];
	memset(err, 'x', sizeof err);
	struct cr_ruleset *rs = cr_config_load_string(text, "fuzz.cfg", err, sizeof err);
	if (!rs) {
		FUZZ_ASSERT(memchr(err, '\0', sizeof err) != NULL);
		FUZZ_ASSERT(strncmp(err, "fuzz.cfg", 8) == 0);
	} else {
		FILE *out = fopen("/dev/null", "w");
		if (out) {
			cr_config_print(rs, out);
			fclose(out);
		}
		cr_ruleset_bind_process(rs, "fuzz", "/usr/bin/fuzz");
		static const struct cr_dest dests[] = {
			{ .family = CR_FAM_INET, .addr = { 127, 0, 0, 1 }, .port = 80 },
			{ .family = CR_FAM_INET, .addr = { 10, 1, 2, 3 }, .port = 5432, .mapped = true },
			{ .family = CR_FAM_INET6, .addr = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 }, .port = 443 },
			{ .family = CR_FAM_UNIX, .path = "/run/x.sock", .path_len = 11 },
			{ .family = CR_FAM_UNIX, .path = "@abstract", .path_len = 9 },
		};
		for (size_t i = 0; i < sizeof dests / sizeof dests[0]; i++) {
			struct cr_query q = { .dest = &dests[i], .comm = "fuzz", .host = i == 0 ? "db.test" : NULL,
					      .sotype = 1, .now = 1.0 };
			struct cr_verdict v;
			cr_decide(rs, &q, &v);
			cr_decide_peek(rs, &q, &v);
		}
		cr_ruleset_free(rs);
	}
	free(text);
	return 0;
}
