/* Shared by the fuzz targets: a check that aborts (so libFuzzer records the
 * input), and the entry point each target defines. */
#ifndef CR_FUZZ_H
#define CR_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_ASSERT(cond)                                                                             \
	do {                                                                                          \
		if (!(cond)) {                                                                        \
			fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                                      \
		}                                                                                     \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifdef CR_RULES_H
#include "engine/config.h"
#include "engine/decide.h"

/* Everything a loaded rule set is asked: printed back (as a draft), every
 * kind of destination and a look-up decided, counting and not. */
static inline void fuzz_exercise(struct cr_ruleset *rs)
{
	struct cr_draft *d = cr_ruleset_to_draft(rs);
	FILE *out = fopen("/dev/null", "w");
	if (out && d)
		cr_config_print(d, out);
	if (out)
		fclose(out);
	cr_draft_free(d);
	cr_ruleset_bind_process(rs);
	static const struct cr_dest dests[] = {
		{ .family = CR_FAM_INET, .addr = { 127, 0, 0, 1 }, .port = 80 },
		{ .family = CR_FAM_INET, .addr = { 10, 1, 2, 3 }, .port = 5432, .mapped = true },
		{ .family = CR_FAM_INET, .addr = { 255, 255, 255, 255 }, .port = 1 },
		{ .family = CR_FAM_INET6, .addr = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 }, .port = 443 },
		{ .family = CR_FAM_INET6,
		  .addr = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7 },
		  .port = 53 },
		{ .family = CR_FAM_UNIX, .path = "/run/x.sock", .path_len = 11 },
		{ .family = CR_FAM_UNIX, .path = "/var/run/pg/.s.PGSQL.5432", .path_len = 25 },
		{ .family = CR_FAM_UNIX, .path = "@abstract", .path_len = 9 },
	};
	for (size_t i = 0; i < sizeof dests / sizeof dests[0]; i++) {
		struct cr_query q = { .dest = &dests[i],
				      .comm = "fuzz",
				      .exe = "/usr/bin/fuzz",
				      .host = i == 0 ? "db.test" : NULL,
				      .sotype = 1,
				      .now = rs->loaded_at + 1.0 };
		struct cr_verdict v;
		cr_decide(rs, &q, &v);
		cr_decide_peek(rs, &q, &v);
	}
	struct cr_lookup lq = { .name = "db.test", .comm = "fuzz", .now = rs->loaded_at + 1.0 };
	struct cr_verdict v;
	cr_decide_lookup(rs, &lq, &v);
}
#endif

#endif
