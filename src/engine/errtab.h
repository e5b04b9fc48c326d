/* Error decoding: the tables (errtab.c) and the look-ups over them (decode.c). */
#ifndef CR_ERRTAB_H
#define CR_ERRTAB_H

#include "connrefuse.h"

struct cr_errno_row {
	int code;
	const char *name;
	const char *desc;
};
struct cr_errno_alias {
	const char *name;
	int code;
};
struct cr_wsa_row {
	int code;
	const char *name;
	int posix;
	const char *desc;
};
struct cr_herrno_row {
	int herrno;
	const char *name;
	int eai;
	const char *desc;
};
struct cr_help_row {
	int code;
	const char *hint, *causes, *fix, *related;
};

extern const struct cr_errno_row cr_errno_rows[];
extern const unsigned cr_errno_nrows;
extern const struct cr_errno_alias cr_errno_aliases[];
extern const unsigned cr_errno_naliases;
extern const struct cr_wsa_row cr_wsa_rows[];
extern const unsigned cr_wsa_nrows;
extern const struct cr_errno_row cr_eai_rows[];
extern const unsigned cr_eai_nrows;
extern const struct cr_herrno_row cr_herrno_rows[];
extern const unsigned cr_herrno_nrows;
extern const struct cr_help_row cr_help_rows[];
extern const unsigned cr_help_nrows;

/* Rows by code, or NULL: an errno (> 0), or a getaddrinfo code (< 0). */
const struct cr_errno_row *cr_errno_row(int code);
/* Its name, or "E?" for a code no row has (a corrupt compiled file's). */
const char *cr_errno_name(int code);
/* The h_errno row for a getaddrinfo code, or for a name (case-insensitive). */
const struct cr_herrno_row *cr_herrno_for_eai(int eai);
const struct cr_herrno_row *cr_herrno_by_name(const char *name);
const struct cr_wsa_row *cr_wsa_row(int code);
/* The Winsock row equivalent to an errno, or NULL. */
const struct cr_wsa_row *cr_wsa_for_errno(int code);
/* The code for a name ("ECONNREFUSED", "EAI_NONAME", aliases too,
 * case-insensitive), or 0. */
int cr_errno_by_name(const char *name);

#endif
