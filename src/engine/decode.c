/* Error decoding: look-ups over the tables of errtab.c. Linear scans: the
 * tables are small and only logging and the CLI read them. */
#include "errtab.h"
#include "export.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const struct cr_errno_row *cr_errno_row(int code)
{
	const struct cr_errno_row *rows = code < 0 ? cr_eai_rows : cr_errno_rows;
	unsigned n = code < 0 ? cr_eai_nrows : cr_errno_nrows;
	for (unsigned i = 0; i < n; i++)
		if (rows[i].code == code)
			return &rows[i];
	return NULL;
}

const char *cr_errno_name(int code)
{
	const struct cr_errno_row *row = cr_errno_row(code);
	return row ? row->name : "E?";
}

const struct cr_herrno_row *cr_herrno_for_eai(int eai)
{
	for (unsigned i = 0; i < cr_herrno_nrows; i++)
		if (cr_herrno_rows[i].eai == eai)
			return &cr_herrno_rows[i];
	return NULL;
}

const struct cr_herrno_row *cr_herrno_by_name(const char *name)
{
	for (unsigned i = 0; i < cr_herrno_nrows; i++)
		if (strcasecmp(cr_herrno_rows[i].name, name) == 0)
			return &cr_herrno_rows[i];
	return NULL;
}

const struct cr_wsa_row *cr_wsa_row(int code)
{
	for (unsigned i = 0; i < cr_wsa_nrows; i++)
		if (cr_wsa_rows[i].code == code)
			return &cr_wsa_rows[i];
	return NULL;
}

const struct cr_wsa_row *cr_wsa_for_errno(int code)
{
	if (code == 0)
		return NULL;
	for (unsigned i = 0; i < cr_wsa_nrows; i++)
		if (cr_wsa_rows[i].posix == code)
			return &cr_wsa_rows[i];
	return NULL;
}

int cr_errno_by_name(const char *name)
{
	for (unsigned i = 0; i < cr_errno_nrows; i++)
		if (strcasecmp(cr_errno_rows[i].name, name) == 0)
			return cr_errno_rows[i].code;
	for (unsigned i = 0; i < cr_errno_naliases; i++)
		if (strcasecmp(cr_errno_aliases[i].name, name) == 0)
			return cr_errno_aliases[i].code;
	for (unsigned i = 0; i < cr_eai_nrows; i++)
		if (strcasecmp(cr_eai_rows[i].name, name) == 0)
			return cr_eai_rows[i].code;
	return 0;
}

static const struct cr_help_row *help_row(int code)
{
	for (unsigned i = 0; i < cr_help_nrows; i++)
		if (cr_help_rows[i].code == code)
			return &cr_help_rows[i];
	return NULL;
}

CR_EXPORT int connrefuse_decode_errno(int errnum, struct connrefuse_error *out)
{
	const struct cr_errno_row *row = cr_errno_row(errnum);
	if (!row)
		return -1;
	const struct cr_wsa_row *wsa = cr_wsa_for_errno(errnum);
	const struct cr_help_row *help = help_row(errnum);
	*out = (struct connrefuse_error){
		.errno_name = row->name,
		.errno_code = row->code,
		.desc = row->desc,
		.wsa_name = wsa ? wsa->name : NULL,
		.wsa_code = wsa ? wsa->code : 0,
	};
	if (help) {
		out->hint = help->hint;
		out->causes = help->causes;
		out->fix = help->fix;
		out->related = help->related;
	}
	return 0;
}

CR_EXPORT int connrefuse_decode_wsa(int wsa_code, struct connrefuse_error *out)
{
	const struct cr_wsa_row *wsa = cr_wsa_row(wsa_code);
	if (!wsa)
		return -1;
	if (wsa->posix && connrefuse_decode_errno(wsa->posix, out) == 0) {
		/* EAGAIN's equivalent is WSAEWOULDBLOCK whichever way it is asked. */
		return 0;
	}
	*out = (struct connrefuse_error){
		.wsa_name = wsa->name,
		.wsa_code = wsa->code,
		.desc = wsa->desc,
	};
	return 0;
}

static int parse_number(const char *text, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(text, &end, 0);
	if (errno || end == text || *end != '\0' || v < 0)
		return -1;
	*out = v;
	return 0;
}

CR_EXPORT int connrefuse_decode(const char *text, struct connrefuse_error *out)
{
	if (!text || !*text)
		return -1;
	if (text[0] == '-' && isdigit((unsigned char)text[1])) {
		/* A negative number is a getaddrinfo code. */
		long v;
		if (parse_number(text + 1, &v) != 0 || v == 0 || v > 1000)
			return -1;
		return connrefuse_decode_errno((int)-v, out);
	}
	if (isdigit((unsigned char)text[0])) {
		long v;
		/* Leading zeros would make strtol read octal: "010061" is decimal. */
		const char *p = text;
		if (p[0] == '0' && p[1] && p[1] != 'x' && p[1] != 'X') {
			while (p[0] == '0' && p[1])
				p++;
		}
		if (parse_number(p, &v) != 0 || v > 1000000)
			return -1;
		if (v >= 10000)
			return connrefuse_decode_wsa((int)v, out);
		return connrefuse_decode_errno((int)v, out);
	}
	if (strncasecmp(text, "WSA", 3) == 0) {
		for (unsigned i = 0; i < cr_wsa_nrows; i++)
			if (strcasecmp(cr_wsa_rows[i].name, text) == 0)
				return connrefuse_decode_wsa(cr_wsa_rows[i].code, out);
		return -1;
	}
	const struct cr_herrno_row *h = cr_herrno_by_name(text);
	if (h) /* an h_errno name: the getaddrinfo code it stands for */
		return connrefuse_decode_errno(h->eai, out);
	int code = cr_errno_by_name(text);
	return code == 0 ? -1 : connrefuse_decode_errno(code, out);
}

CR_EXPORT const char *connrefuse_version(void)
{
	return CONNREFUSE_VERSION;
}
