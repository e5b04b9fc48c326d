/* The machinery every key shares: messages that name file, line and rule;
 * reading a setting by the type its key declares; printing a scope back;
 * a scope's keys listed in messages. It knows no scope by name: the keys
 * themselves are declared in config_load.c (top level, log; with the list
 * of every key, for the man page check) and config_rule.c (rules). */
#define _GNU_SOURCE
#include "suggest.h"
#include "config_impl.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int cr_config_fail(struct load *ld, const config_setting_t *s, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int n = 0;
	if (ld->rule_name)
		n = snprintf(msg, sizeof msg, "rule \"%.60s\": ", ld->rule_name);
	else if (ld->rule_number)
		n = snprintf(msg, sizeof msg, "rule %u: ", ld->rule_number);
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
	va_end(ap);
	const char *file = s && config_setting_source_file(s) ? config_setting_source_file(s) : ld->file;
	unsigned line = s ? config_setting_source_line(s) : 0;
	if (line)
		snprintf(ld->err, ld->errsize, "%s:%u: %s", file, line, msg);
	else
		snprintf(ld->err, ld->errsize, "%s: %s", file, msg);
	return -1;
}

/* ---- values by type: each check names the setting ---- */

int cr_config_int(struct load *ld, const config_setting_t *s, long long *out)
{
	*out = 0;
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
		*out = config_setting_get_int(s);
		return 0;
	case CONFIG_TYPE_INT64:
		*out = config_setting_get_int64(s);
		return 0;
	default:
		return cr_config_fail(ld, s, "'%s' must be an integer", config_setting_name(s));
	}
}

int cr_config_number(struct load *ld, const config_setting_t *s, double *out)
{
	*out = 0;
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
		*out = config_setting_get_int(s);
		return 0;
	case CONFIG_TYPE_INT64:
		*out = (double)config_setting_get_int64(s);
		return 0;
	case CONFIG_TYPE_FLOAT:
		*out = config_setting_get_float(s);
		if (!__builtin_isfinite(*out))
			return cr_config_fail(ld, s, "'%s' must be a finite number", config_setting_name(s));
		return 0;
	default:
		return cr_config_fail(ld, s, "'%s' must be a number", config_setting_name(s));
	}
}

int cr_config_string(struct load *ld, const config_setting_t *s, const char **out)
{
	*out = "";
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return cr_config_fail(ld, s, "'%s' must be a string", config_setting_name(s));
	*out = config_setting_get_string(s);
	return 0;
}

/* Reads s as its key's type says; GROUP and VALUES settings are left to
 * the key. */
static int read_value(struct load *ld, const struct cr_key *k, const config_setting_t *s, union cr_value *v)
{
	switch (k->type) {
	case CR_KEY_STRING:
		return cr_config_string(ld, s, &v->s);
	case CR_KEY_INT:
		if (cr_config_int(ld, s, &v->i) != 0)
			return -1;
		if (v->i < k->min || v->i > k->max)
			return cr_config_fail(ld, s, "'%s' must be between %lld and %lld, not %lld",
					      config_setting_name(s), k->min, k->max, v->i);
		return 0;
	case CR_KEY_NUMBER:
		return cr_config_number(ld, s, &v->d);
	case CR_KEY_BOOL:
		v->b = false;
		if (config_setting_type(s) != CONFIG_TYPE_BOOL)
			return cr_config_fail(ld, s, "'%s' must be true or false", config_setting_name(s));
		v->b = config_setting_get_bool(s);
		return 0;
	case CR_KEY_GROUP:
	case CR_KEY_VALUES:
		return 0;
	}
	return 0;
}

int cr_config_level(struct load *ld, const config_setting_t *s, const char *v, int *out)
{
	for (int l = CR_LEVEL_NONE; l <= CR_LEVEL_ALL; l++)
		if (strcmp(v, cr_level_name(l)) == 0) {
			*out = l;
			return 0;
		}
	return cr_config_fail(ld, s, "'%s' is \"%s\"; it must be \"none\", \"failures\" or \"all\"",
			      config_setting_name(s), v);
}

int cr_config_action(struct load *ld, const config_setting_t *s, const char *v, enum cr_action *out)
{
	for (int a = CR_ACT_PASS; a <= CR_ACT_LAST; a++)
		if (strcmp(v, cr_action_name(a)) == 0) {
			*out = a;
			return 0;
		}
	return cr_config_fail(
		ld, s,
		"'%s' is \"%s\"; it must be \"pass\", \"log\", \"refuse\", \"fail\", \"drop\", \"reset\", \"close\" or \"stall\"",
		config_setting_name(s), v);
}

const struct cr_key *cr_key_find(const struct cr_scope *sc, const char *name)
{
	for (unsigned i = 0; i < sc->nkeys; i++)
		if (strcmp(sc->keys[i].name, name) == 0)
			return &sc->keys[i];
	return NULL;
}

/* "a, b, c": the scope's keys, for messages. */
static const char *key_at(size_t i, const void *arg)
{
	return ((const struct cr_scope *)arg)->keys[i].name;
}

static void key_list(const struct cr_scope *sc, char *buf, size_t size)
{
	size_t pos = 0;
	buf[0] = '\0';
	for (unsigned i = 0; i < sc->nkeys && pos < size; i++)
		pos += (size_t)snprintf(buf + pos, size - pos, "%s%s", i ? ", " : "", sc->keys[i].name);
}

int cr_key_read(struct load *ld, const struct cr_scope *sc, const config_setting_t *s, void *target)
{
	const char *name = config_setting_name(s);
	const struct cr_key *k = cr_key_find(sc, name);
	if (!k) {
		char keys[256];
		key_list(sc, keys, sizeof keys);
		const char *near = cr_suggest(name, sc->nkeys, key_at, sc);
		if (near)
			return cr_config_fail(ld, s, "unknown key '%s%s': did you mean '%s'? (%s takes: %s)",
					      sc->key_prefix, name, near, sc->what, keys);
		return cr_config_fail(ld, s, "unknown key '%s%s' (%s takes: %s)", sc->key_prefix, name, sc->what, keys);
	}
	union cr_value v;
	if (read_value(ld, k, s, &v) != 0)
		return -1;
	return k->parse(ld, s, &v, target);
}

void cr_keys_print(FILE *out, const struct cr_scope *sc, const void *target, const char *indent, const char *sep)
{
	for (unsigned i = 0; i < sc->nkeys; i++) {
		const struct cr_key *k = &sc->keys[i];
		if (!k->print || (k->present && !k->present(target)))
			continue;
		fprintf(out, "%s%s%s", indent, k->name, k->assign ? k->assign : " = ");
		k->print(out, target);
		fprintf(out, ";%s", sep);
	}
}

/* ---- printing ---- */

void cr_print_quoted(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(out, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(out, "\\x%02x", (unsigned char)*s);
		else
			fputc(*s, out);
	}
	fputc('"', out);
}

/* The shortest text that reads back as the same double. A number with no
 * '.' reads back as an integer: fine, the loader takes integers wherever
 * it takes numbers. */
void cr_print_number(FILE *out, double v)
{
	char buf[32];
	snprintf(buf, sizeof buf, "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, sizeof buf, "%.17g", v);
	fputs(buf, out);
}
