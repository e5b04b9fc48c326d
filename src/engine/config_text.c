/* The text before libconfig reads it, and libconfig's messages after.
 *
 * libconfig 1.5 reads an integer literal without an L suffix into 32 bits,
 * silently: `seed = 12345678901;` became -539222987. Every literal outside
 * 32 bits gets its L here, so that it is read as written; one outside 64
 * bits is an error that says so. */
#define _GNU_SOURCE
#include "config_text.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Skips a string or a comment at p, or nothing; returns where scanning
 * goes on. */
static const char *skip_quoted(const char *p)
{
	if (*p == '"') {
		for (p++; *(p += strcspn(p, "\"\\")) == '\\';)
			p += p[1] ? 2 : 1;
		return *p ? p + 1 : p;
	}
	if (*p == '#' || (p[0] == '/' && p[1] == '/'))
		return p + strcspn(p, "\n");
	if (p[0] == '/' && p[1] == '*') {
		const char *end = strstr(p + 2, "*/");
		return end ? end + 2 : p + strlen(p);
	}
	return p;
}

/* An integer literal at p (digits, not part of a name or a float): its
 * length, and whether it needs an L to be read whole (1) or is beyond 64
 * bits (-1); 0 otherwise. */
static int literal(const char *text, const char *p, size_t *len)
{
	bool hex = p[0] == '0' && (p[1] == 'x' || p[1] == 'X');
	const char *q = p + (hex ? 2 : 0);
	unsigned __int128 v = 0;
	bool huge = false;
	for (; hex ? isxdigit((unsigned char)*q) : isdigit((unsigned char)*q); q++) {
		unsigned d = isdigit((unsigned char)*q) ? (unsigned)(*q - '0') : (unsigned)(tolower(*q) - 'a' + 10);
		v = v * (hex ? 16 : 10) + d;
		huge |= v > ((unsigned __int128)1 << 64);
	}
	*len = (size_t)(q - p);
	if (*q == '.' || *q == 'e' || *q == 'E' || *q == 'L' || (hex && *len == 2))
		return 0; /* a float, an int64 already, or no number */
	bool negative = p > text && p[-1] == '-';
	unsigned __int128 max32 = negative ? 2147483648u : 2147483647u;
	unsigned __int128 max64 = negative ? (unsigned __int128)1 << 63 : ((unsigned __int128)1 << 63) - 1;
	if (huge || v > max64)
		return -1;
	return v > max32 ? 1 : 0;
}

/* Walks the literals of text: each that needs an L gets one in out (when
 * out is given, text is copied there). Returns how many need one, or -1
 * with the error written. Only strings, comments and digits stop the walk:
 * the rest of a rules file is passed over by strcspn. */
static long walk(const char *text, char *out, const char *name, char *err, size_t errsize)
{
	long marks = 0;
	const char *p = text, *copied = text;
	char *o = out;
	while (*(p += strcspn(p, "\"#/0123456789"))) {
		const char *next = skip_quoted(p);
		if (next != p) {
			p = next;
			continue;
		}
		if (!isdigit((unsigned char)*p) ||
		    (p > text && (isalnum((unsigned char)p[-1]) || p[-1] == '_' || p[-1] == '.'))) {
			p++;
			continue;
		}
		size_t len;
		int kind = literal(text, p, &len);
		if (kind < 0) {
			unsigned line = 1;
			for (const char *q = text; q < p; q++)
				line += *q == '\n';
			snprintf(err, errsize,
				 "%s:%u: the number %.*s is out of range: integers go from "
				 "-9223372036854775808 to 9223372036854775807",
				 name, line, (int)(len > 40 ? 40 : len), p);
			return -1;
		}
		p += len;
		if (kind == 1) {
			marks++;
			if (out) {
				memcpy(o, copied, (size_t)(p - copied));
				o += p - copied;
				*o++ = 'L';
				copied = p;
			}
		}
	}
	if (out)
		strcpy(o, copied);
	return marks;
}

int cr_config_prepare(const char *text, char **out, const char *name, char *err, size_t errsize)
{
	*out = NULL;
	long marks = walk(text, NULL, name, err, errsize);
	if (marks <= 0)
		return (int)marks; /* as written (most files), or an error */
	if (!(*out = malloc(strlen(text) + (size_t)marks + 1))) {
		snprintf(err, errsize, "%s: out of memory", name);
		return -1;
	}
	walk(text, *out, name, err, errsize);
	return 0;
}

/* The start of line `line` (from 1) of text, or NULL. */
static const char *line_start(const char *text, unsigned line)
{
	const char *p = text;
	for (unsigned l = 1; l < line && p; l++)
		if ((p = strchr(p, '\n')))
			p++;
	return p;
}

/* The first character of the line that is not blank, or 0. */
static char first_significant(const char *p)
{
	p += strspn(p, " \t");
	return *p == '\n' ? 0 : *p;
}

/* The last character before `at` that is neither blank nor in a comment
 * (comments are looked for on each line only: '#' and '//'). */
static char last_significant(const char *text, const char *at)
{
	for (const char *line_end = at; line_end > text;) {
		const char *ls = line_end;
		while (ls > text && ls[-1] != '\n')
			ls--;
		const char *end = line_end;
		for (const char *q = ls; q < line_end; q++)
			if (*q == '#' || (q[0] == '/' && q[1] == '/')) {
				end = q;
				break;
			}
		while (end > ls && isspace((unsigned char)end[-1]))
			end--;
		if (end > ls)
			return end[-1];
		line_end = ls > text ? ls - 1 : text;
	}
	return 0;
}

/* Whether the line at ls holds the token pair a then b (blanks between),
 * outside strings and comments: a mistake within one line. */
static bool line_has_pair(const char *ls, char a, const char *b)
{
	char prev = 0;
	for (const char *p = ls; *p && *p != '\n'; p++) {
		if (*p == '"') { /* skip the string */
			for (p++; *p && *p != '"' && *p != '\n'; p++)
				if (*p == '\\' && p[1])
					p++;
			if (*p != '"')
				return false;
			prev = '"';
			continue;
		}
		if (*p == '#' || (p[0] == '/' && p[1] == '/'))
			return false;
		if (isspace((unsigned char)*p))
			continue;
		if (prev == a && strchr(b, *p))
			return true;
		prev = *p;
	}
	return false;
}

/* libconfig's "mismatched element type in array" on the line at ls: which
 * array, and how to write a list of mixed values. */
static void explain_mixed_array(const char *ls, const char *name, unsigned line, char *out, size_t size)
{
	char key[64] = "the array";
	const char *br = strchr(ls, '[');
	if (br) {
		const char *e = br;
		while (e > ls && (isspace((unsigned char)e[-1]) || e[-1] == '=' || e[-1] == ':'))
			e--;
		const char *b = e;
		while (b > ls && (isalnum((unsigned char)b[-1]) || b[-1] == '_'))
			b--;
		if (e > b)
			snprintf(key, sizeof key, "'%.*s'", (int)(e - b), b);
	}
	snprintf(out, size,
		 "%s:%u: %s mixes numbers and strings in [ ... ], which holds values of one type: "
		 "write the list in ( ... ), as port = (80, \"8000-8010\");",
		 name, line, key);
}

/* A syntax error at the line at ls that is a comma too many or too few:
 * written to out (true), or false. */
static bool explain_commas(const char *text, const char *ls, const char *name, unsigned line, char *out, size_t size)
{
	char first = first_significant(ls), before = last_significant(text, ls);
	if (before == ',' && (first == ')' || first == ']')) {
		snprintf(out, size, "%s:%u: a ',' after the last element of a list: remove the comma before this '%c'",
			 name, line, first);
		return true;
	}
	if (line_has_pair(ls, ',', ")]")) {
		snprintf(out, size,
			 "%s:%u: a ',' after the last element of a list: remove the comma before its ')' or ']'", name,
			 line);
		return true;
	}
	if ((before == '}' && first == '{') || line_has_pair(ls, '}', "{")) {
		snprintf(out, size, "%s:%u: a ',' is missing between this group and the one before", name, line);
		return true;
	}
	return false;
}

/* A syntax error at the line at ls (ending at end) that is another syntax's
 * habit: [ { for a list of groups, single quotes, JSON's "key": value.
 * Written to out (true), or false. */
static bool explain_other_syntax(const char *ls, const char *end, const char *name, unsigned line, char *out,
				 size_t size)
{
	const char *br = memchr(ls, '[', (size_t)(end - ls));
	if (br && first_significant(br + 1) == '{') {
		snprintf(out, size,
			 "%s:%u: a list of groups is written in ( ... ): rules = ( { ... }, { ... } ); "
			 "([ ... ] holds plain values only)",
			 name, line);
		return true;
	}
	if (memchr(ls, '\'', (size_t)(end - ls))) {
		snprintf(out, size, "%s:%u: strings are written in double quotes (\"...\"), not single ones", name,
			 line);
		return true;
	}
	const char *q = memchr(ls, '"', (size_t)(end - ls));
	if (q && (q = memchr(q + 1, '"', (size_t)(end - q - 1))) && first_significant(q + 1) == ':') {
		snprintf(out, size,
			 "%s:%u: this is libconfig, not JSON: keys are bare words, key = value; "
			 "(dst = \"127.0.0.1\"; not \"dst\": \"127.0.0.1\")",
			 name, line);
		return true;
	}
	return false;
}

/* A syntax error at the line at ls (ending at end) that is a value without
 * its quotes: a bare word, or else an address. Written to out (true), or
 * false. */
static bool explain_unquoted(const char *ls, const char *end, const char *name, unsigned line, char *out, size_t size)
{
	const char *word = NULL;
	for (const char *eq = ls; !word && (eq = memchr(eq, '=', (size_t)(end - eq))); eq++) {
		const char *w = eq + 1 + strspn(eq + 1, " \t");
		if ((isalpha((unsigned char)*w) || *w == '_') && strncmp(w, "true", 4) != 0 &&
		    strncmp(w, "false", 5) != 0)
			word = w;
	}
	for (const char *eq = ls; !word && (eq = memchr(eq, '=', (size_t)(end - eq))); eq++) {
		const char *w = eq + 1 + strspn(eq + 1, " \t");
		size_t n = strspn(w, "0123456789abcdefABCDEF.:/");
		bool two_dots = n && memchr(w, '.', n) != memrchr(w, '.', n), colon = n && memchr(w, ':', n);
		if (two_dots || colon) {
			snprintf(out, size,
				 "%s:%u: %.*s is not quoted: addresses are strings, in double quotes (\"%.*s\")", name,
				 line, (int)(n > 60 ? 60 : n), w, (int)(n > 60 ? 60 : n), w);
			return true;
		}
	}
	if (word) {
		size_t n = strspn(word, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.*");
		snprintf(out, size, "%s:%u: %.*s is not quoted: strings are written in double quotes (\"%.*s\")", name,
			 line, (int)(n > 60 ? 60 : n), word, (int)(n > 60 ? 60 : n), word);
		return true;
	}
	return false;
}

void cr_config_explain(const char *text, const char *name, unsigned line, const char *msg, char *out, size_t size)
{
	const char *ls = line_start(text, line);
	if (ls && strcmp(msg, "mismatched element type in array") == 0) {
		explain_mixed_array(ls, name, line, out, size);
		return;
	}
	if (ls && strcmp(msg, "syntax error") == 0) {
		const char *end = ls + strcspn(ls, "\n");
		if (explain_commas(text, ls, name, line, out, size) ||
		    explain_other_syntax(ls, end, name, line, out, size) ||
		    explain_unquoted(ls, end, name, line, out, size))
			return;
	}
	snprintf(out, size, "%s:%u: %s", name, line, msg);
}
