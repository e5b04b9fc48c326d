/* connrefuse report [--json|--prometheus] [LOGFILE|-]: a summary of log
 * lines (engine/report.h). */
#include "cli.h"
#include "engine/report.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int cr_cmd_report(int argc, char **argv)
{
	enum cr_report_format format = CR_REPORT_TEXT;
	const char *path = NULL;
	for (int i = 1; i < argc; i++) {
		bool json = strcmp(argv[i], "--json") == 0, prom = strcmp(argv[i], "--prometheus") == 0;
		if ((json || prom) && format != CR_REPORT_TEXT &&
		    format != (json ? CR_REPORT_JSON : CR_REPORT_PROMETHEUS))
			return cr_usage_error("report", "%s",
					      "report: --json and --prometheus are two formats: choose one");
		if (json)
			format = CR_REPORT_JSON;
		else if (prom)
			format = CR_REPORT_PROMETHEUS;
		else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return cr_help("report");
		else if (path)
			return cr_usage_error("report", "%s", "report takes one LOGFILE");
		else
			path = argv[i];
	}
	FILE *in = stdin;
	struct stat st;
	if (path && strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		fprintf(stderr,
			"connrefuse: report: %s is a folder: give a log file (log.file's, or syslog's), or - for "
			"standard input\n",
			path);
		return 1;
	}
	if (path && strcmp(path, "-") != 0 && !(in = fopen(path, "r"))) {
		fprintf(stderr, "connrefuse: cannot read %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (!path && isatty(STDIN_FILENO))
		fprintf(stderr, "connrefuse: report: reading log lines from the terminal (end with Ctrl-D); give a "
				"LOGFILE, or pipe lines in: journalctl -t connrefuse | connrefuse report\n");
	cr_report(in, stdout, format);
	if (in != stdin)
		fclose(in);
	return 0;
}
