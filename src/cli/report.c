/* connrefuse report [--json|--prometheus] [LOGFILE|-]: a summary of log
 * lines (engine/report.h). */
#include "cli.h"
#include "engine/report.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int cr_cmd_report(int argc, char **argv)
{
	enum cr_report_format format = CR_REPORT_TEXT;
	const char *path = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			format = CR_REPORT_JSON;
		else if (strcmp(argv[i], "--prometheus") == 0)
			format = CR_REPORT_PROMETHEUS;
		else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return cr_help("report");
		else if (path)
			return cr_usage_error("report", "%s", "report takes one LOGFILE");
		else
			path = argv[i];
	}
	FILE *in = stdin;
	if (path && strcmp(path, "-") != 0 && !(in = fopen(path, "r"))) {
		fprintf(stderr, "connrefuse: cannot read %s: %s\n", path, strerror(errno));
		return 1;
	}
	cr_report(in, stdout, format);
	if (in != stdin)
		fclose(in);
	return 0;
}
