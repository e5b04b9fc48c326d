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
		fuzz_exercise(rs);
		cr_ruleset_free(rs);
	}
	free(text);
	return 0;
}
