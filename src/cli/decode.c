/* connrefuse decode CODE...: errno values, the resolver's codes (EAI_*,
 * h_errno) and Winsock codes explained. */
#include "cli.h"
#include "connrefuse.h"
#include "engine/errtab.h"
#include "engine/suggest.h"

#include <ctype.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void json_string(const char *key, const char *v, bool comma)
{
	printf("\"%s\": ", key);
	if (!v) {
		printf("null");
	} else {
		putchar('"');
		for (; *v; v++) {
			if (*v == '"' || *v == '\\')
				printf("\\%c", *v);
			else if ((unsigned char)*v < 0x20)
				printf("\\u%04x", *v);
			else
				putchar(*v);
		}
		putchar('"');
	}
	if (comma)
		printf(", ");
}

static void json_code(const char *key, int v, bool comma)
{
	if (v < 0) /* a getaddrinfo code: no hex (as in the log line) */
		printf("\"%s\": %d, \"%s_hex\": null", key, v, key);
	else if (v)
		printf("\"%s\": %d, \"%s_hex\": \"0x%x\"", key, v, key, v);
	else
		printf("\"%s\": null, \"%s_hex\": null", key, key);
	if (comma)
		printf(", ");
}

static void print_json(const char *input, const struct connrefuse_error *e, bool first)
{
	printf("%s{", first ? "" : ",\n ");
	json_string("input", input, true);
	json_string("name", e->errno_name, true);
	json_code("code", e->errno_code, true);
	json_string("wsa", e->wsa_name, true);
	json_code("wsa_code", e->wsa_code, true);
	const struct cr_herrno_row *h = e->errno_code < 0 ? cr_herrno_for_eai(e->errno_code) : NULL;
	json_string("h_errno", h ? h->name : NULL, true);
	if (h)
		printf("\"h_errno_code\": %d, ", h->herrno);
	else
		printf("\"h_errno_code\": null, ");
	json_string("desc", e->desc, true);
	json_string("meaning", e->hint, true);
	json_string("causes", e->causes, true);
	json_string("fix", e->fix, true);
	json_string("related", e->related, false);
	printf("}");
}

static void print_text(const struct connrefuse_error *e, bool first)
{
	if (!first)
		printf("\n");
	if (e->errno_name && e->errno_code < 0)
		printf("%s %d (getaddrinfo's return value)\n", e->errno_name, e->errno_code);
	else if (e->errno_name)
		printf("%s %d 0x%x\n", e->errno_name, e->errno_code, e->errno_code);
	else
		printf("%s %d 0x%x (no POSIX errno equivalent)\n", e->wsa_name, e->wsa_code, e->wsa_code);
	if (e->errno_name && e->wsa_name)
		printf("  winsock:     %s %d 0x%x\n", e->wsa_name, e->wsa_code, e->wsa_code);
	else if (e->errno_name)
		printf("  winsock:     (none)\n");
	const struct cr_herrno_row *h = e->errno_code < 0 ? cr_herrno_for_eai(e->errno_code) : NULL;
	if (h)
		printf("  h_errno:     %s %d (the gethostbyname family's)\n", h->name, h->herrno);
	printf("  description: %s\n", e->desc);
	if (e->hint)
		printf("  meaning:     %s\n", e->hint);
	if (e->causes)
		printf("  causes:      %s\n", e->causes);
	if (e->fix)
		printf("  what to do:  %s\n", e->fix);
	if (e->related)
		printf("  related:     %s\n", e->related);
}

/* Every name decode takes: errnos, getaddrinfo codes, h_errno names, Winsock codes. */
static const char *errno_name_at(size_t i, const void *arg)
{
	(void)arg;
	if (i < cr_errno_nrows)
		return cr_errno_rows[i].name;
	if ((i -= cr_errno_nrows) < cr_eai_nrows)
		return cr_eai_rows[i].name;
	if ((i -= cr_eai_nrows) < cr_herrno_nrows)
		return cr_herrno_rows[i].name;
	return cr_wsa_rows[i - cr_herrno_nrows].name;
}

/* The name nearest to a word that is none (a typo). */
static const char *nearest_name(const char *word)
{
	if (!isalpha((unsigned char)word[0]))
		return NULL;
	return cr_suggest(word, cr_errno_nrows + cr_eai_nrows + cr_herrno_nrows + cr_wsa_nrows, errno_name_at, NULL);
}

/* A Win32 error as an HRESULT (HRESULT_FROM_WIN32: 0x8007XXXX), as Windows
 * tools print WSAECONNREFUSED: the Win32 code, or -1. */
static long win32_of_hresult(const char *code)
{
	char *end;
	unsigned long v = strtoul(code, &end, 16);
	if (strncasecmp(code, "0x8007", 6) != 0 || *end || strlen(code) != 10)
		return -1;
	return (long)(v & 0xffff);
}

/* What decode says of a CODE that is no error at all; true if it said it. */
static bool not_an_error(const char *code, bool json, bool first)
{
	if (*code && strspn(code, "0") == strlen(code)) {
		if (json)
			printf("%s{\"input\": \"%s\", \"name\": null, \"code\": 0, \"desc\": \"Success\"}",
			       first ? "" : ",\n ", code);
		else
			printf("%s0: no error (success): errno 0, and Winsock's 0 too, mean the call worked\n",
			       first ? "" : "\n");
		return true;
	}
	return false;
}

/* Whether argv[i] is an option of decode's, not a CODE: --json anywhere
 * before "--", after which every word is a CODE (decode -- -2). */
static bool decode_option(char **argv, int i, bool *codes_only)
{
	if (*codes_only)
		return false;
	if (strcmp(argv[i], "--") == 0)
		*codes_only = true;
	return *codes_only || strcmp(argv[i], "--json") == 0;
}

int cr_cmd_decode(int argc, char **argv)
{
	bool json = false, codes_only = false;
	int rc = 0, printed = 0, codes = 0;
	for (int i = 1; i < argc; i++) {
		if (!codes_only && (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0))
			return cr_help("decode");
		json |= !codes_only && strcmp(argv[i], "--json") == 0;
		codes += !decode_option(argv, i, &codes_only);
	}
	if (!codes)
		return cr_usage_error("decode", "%s", "decode needs at least one CODE");
	if (json)
		printf("[");
	codes_only = false;
	for (int i = 1; i < argc; i++) {
		if (decode_option(argv, i, &codes_only))
			continue;
		struct connrefuse_error e;
		char win32[16];
		const char *code = argv[i];
		long w = win32_of_hresult(code);
		if (w >= 0) {
			snprintf(win32, sizeof win32, "%ld", w);
			if (!json)
				printf("%s%s is an HRESULT of Win32 error %ld (HRESULT_FROM_WIN32):\n",
				       printed ? "\n" : "", code, w);
			code = win32;
		}
		if (!*code) {
			fprintf(stderr,
				"connrefuse: decode: an empty CODE: give a number or a name (decode 111, decode "
				"ECONNREFUSED, decode 10061)\n");
			rc = 1;
			continue;
		}
		if (not_an_error(code, json, printed == 0)) {
			printed++;
			continue;
		}
		if (connrefuse_decode(code, &e) != 0) {
			const char *near = nearest_name(argv[i]);
			fprintf(stderr,
				"connrefuse: %s is neither an errno of this system, a resolver code (EAI_*, -2, HOST_NOT_FOUND) nor a Winsock code (10004-11031)%s%s%s\n",
				argv[i], near ? "; did you mean " : "", near ? near : "", near ? "?" : "");
			rc = 1;
			continue;
		}
		if (json)
			print_json(argv[i], &e, printed++ == 0);
		else
			print_text(&e, printed++ == 0 || w >= 0);
	}
	if (json)
		printf("]\n");
	return rc;
}
