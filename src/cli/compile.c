/* connrefuse compile FILE [-o OUT]: the rules in their compiled form. */
#define _GNU_SOURCE
#include "cli.h"
#include "engine/config.h"
#include "engine/config_file.h"
#include "engine/image.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

/* Whether out is the text source in itself: compiled over it, the text
 * would be gone, comments and all (a compiled source may be: that is how
 * an old format is upgraded). Says so. */
static bool over_its_source(const struct cr_config_file *f, const char *in, const char *out)
{
	struct stat si, so;
	if (f->image || stat(in, &si) != 0 || stat(out, &so) != 0 || si.st_dev != so.st_dev || si.st_ino != so.st_ino)
		return false;
	fprintf(stderr,
		"connrefuse: compile: %s is the source itself: its text would be lost; write the compiled "
		"form to another file (without -o: %s.compiled)\n",
		out, in);
	return true;
}

/* The rules of in (opened as f, which this closes) as a draft in *d, and
 * the hash of their source; 0, or the exit status. */
static int draft_of(const char *in, struct cr_config_file *f, struct cr_draft **d, uint64_t *source_hash)
{
	char err[1024];
	if (f->image) {
		/* Compiled again (by this version, say): from its rules as a draft. */
		munmap((void *)f->image, f->len);
		struct cr_rules rules;
		if (cr_rules_load(in, CR_RULES_VERIFY | CR_RULES_DRAFT, &rules) != 0)
			return 1;
		*d = rules.draft;
		*source_hash = rules.set->source_hash;
		rules.draft = NULL;
		cr_rules_free(&rules);
		return 0;
	}
	*d = cr_config_parse(f->text, in, err, sizeof err);
	*source_hash = cr_image_hash(f->text, f->len, 0);
	free(f->text);
	if (!*d) {
		fprintf(stderr, "connrefuse: %s\n", err);
		return 1;
	}
	return 0;
}

/* The image of draft d written to out; 0, or the exit status. */
static int write_compiled(const char *in, const char *out, const struct cr_draft *d, uint64_t source_hash)
{
	char err[1024];
	size_t len;
	void *img = cr_image_build(d, source_hash, &len);
	int rc = 0;
	if (!img) {
		fprintf(stderr, "connrefuse: %s: out of memory\n", in);
		rc = 1;
	} else if (cr_image_write(img, len, out, true, err, sizeof err) != 0) {
		fprintf(stderr, "connrefuse: %s\n", err);
		rc = 1;
	} else {
		printf("%s: %u rule%s compiled into %s (%zu bytes)\n", in, d->nrules, d->nrules == 1 ? "" : "s", out,
		       len);
	}
	cr_image_release(img, len);
	return rc;
}

int cr_cmd_compile(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *out = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'h':
			return cr_help("compile");
		default:
			return cr_usage_error("compile", "%s", "compile: bad option");
		}
	}
	if (argc - optind != 1)
		return cr_usage_error("compile", "%s", "compile takes one FILE");
	const char *in = argv[optind];
	char err[1024], deflt[4096];
	if (!out) {
		if ((size_t)snprintf(deflt, sizeof deflt, "%s.compiled", in) >= sizeof deflt)
			return cr_usage_error("compile", "compile: %s: the name is too long", in);
		out = deflt;
	}
	struct cr_config_file f;
	if (cr_config_open(in, CR_CONFIG_MAX_BYTES, &f, err, sizeof err) != 0) {
		fprintf(stderr, "connrefuse: %s\n", err);
		return 1;
	}
	if (over_its_source(&f, in, out)) {
		free(f.text);
		return 2;
	}
	struct cr_draft *d = NULL;
	uint64_t source_hash = 0;
	int rc = draft_of(in, &f, &d, &source_hash);
	if (rc == 0)
		rc = write_compiled(in, out, d, source_hash);
	cr_draft_free(d);
	return rc;
}
