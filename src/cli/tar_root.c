/* A root file system given as a tar archive (podman export, docker export),
 * for check --image: its members' names, links and places, and a look-up
 * that follows symbolic links inside the archive as a chroot would (an
 * absolute target from the archive's root, ".." never above it). ustar
 * headers, with GNU long names and pax path/linkpath records. */
#define _GNU_SOURCE
#include "cli.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct member {
	char *path, *link; /* normalised: no leading "./" or "/" */
	char type;         /* '0' file, '1' hard link, '2' symbolic link, '5' folder */
	off_t off, size;
};

struct cr_tar {
	struct member *m;
	size_t n, cap;
};

#define MAX_LINKS 40

/* PATH without ".", "..", leading or doubled '/', in out (size PATH_MAX). */
static void normalise(const char *path, char *out, size_t size)
{
	size_t len = 0;
	out[0] = '\0';
	while (*path) {
		while (*path == '/')
			path++;
		size_t n = strcspn(path, "/");
		if (n == 2 && path[0] == '.' && path[1] == '.') {
			char *slash = strrchr(out, '/');
			len = slash ? (size_t)(slash - out) : 0;
			out[len] = '\0';
		} else if (n && !(n == 1 && path[0] == '.') && len + n + 2 < size) {
			len += (size_t)snprintf(out + len, size - len, "%s%.*s", len ? "/" : "", (int)n, path);
		}
		path += n;
	}
}

static unsigned long long number(const unsigned char *f, size_t n)
{
	unsigned long long v = 0;
	if (f[0] & 0x80) { /* GNU base-256, for the large */
		for (size_t i = 1; i < n; i++)
			v = v << 8 | f[i];
		return v;
	}
	for (size_t i = 0; i < n && f[i] >= '0' && f[i] <= '7'; i++)
		v = v * 8 + (f[i] - '0');
	return v;
}

static char *data(int fd, off_t off, off_t size)
{
	if (size < 0 || size > 1 << 20)
		return NULL;
	char *s = malloc((size_t)size + 1);
	if (s && pread(fd, s, (size_t)size, off) != (ssize_t)size) {
		free(s);
		return NULL;
	}
	if (s)
		s[size] = '\0';
	return s;
}

/* A pax record's value ("LEN key=value\n"), or NULL; the records are
 * untrusted: every length is checked against the data's end. */
static char *pax_value(const char *records, size_t total, const char *key)
{
	size_t klen = strlen(key);
	const char *end_all = records + total;
	for (const char *p = records; p < end_all && *p;) {
		char *end;
		unsigned long len = strtoul(p, &end, 10);
		if (!len || end >= end_all || *end != ' ' || len > (size_t)(end_all - p))
			return NULL;
		const char *rec_end = p + len - 1; /* its '\n' */
		if ((size_t)(rec_end - end) > klen + 1 && strncmp(end + 1, key, klen) == 0 && end[1 + klen] == '=') {
			const char *v = end + 2 + klen;
			return strndup(v, (size_t)(rec_end - v));
		}
		p += len;
	}
	return NULL;
}

static bool add(struct cr_tar *t, struct member m)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		struct member *g = realloc(t->m, cap * sizeof *g);
		if (!g)
			return false;
		t->m = g, t->cap = cap;
	}
	t->m[t->n++] = m;
	return true;
}

struct cr_tar *cr_tar_open(int fd)
{
	struct cr_tar *t = calloc(1, sizeof *t);
	unsigned char h[512];
	char *long_name = NULL, *long_link = NULL, full[4096];
	off_t off = 0;
	while (t && pread(fd, h, sizeof h, off) == (ssize_t)sizeof h && h[0]) {
		if (memcmp(h + 257, "ustar", 5) != 0)
			break; /* not a tar header: what was read so far stands */
		off_t size = (off_t)number(h + 124, 12), at = off + 512;
		off = at + (size + 511) / 512 * 512;
		char type = h[156] ? (char)h[156] : '0';
		if (type == 'L' || type == 'K' || type == 'x') {
			char *d = data(fd, at, size);
			if (type == 'x' && d) {
				char *p = pax_value(d, (size_t)size, "path"),
				     *l = pax_value(d, (size_t)size, "linkpath");
				free(d);
				d = NULL;
				if (p)
					free(long_name), long_name = p;
				if (l)
					free(long_link), long_link = l;
			} else if (type == 'L') {
				free(long_name), long_name = d;
			} else if (type == 'K') {
				free(long_link), long_link = d;
			} else {
				free(d);
			}
			continue;
		}
		if (long_name)
			snprintf(full, sizeof full, "%s", long_name);
		else if (h[345])
			snprintf(full, sizeof full, "%.155s/%.100s", (char *)h + 345, (char *)h);
		else
			snprintf(full, sizeof full, "%.100s", (char *)h);
		char path[4096], *link = long_link ? long_link : strndup((char *)h + 157, 100);
		normalise(full, path, sizeof path);
		struct member m = { .path = strdup(path), .link = link, .type = type, .off = at, .size = size };
		long_link = NULL;
		free(long_name), long_name = NULL;
		if (!m.path || !m.link || !add(t, m)) {
			free(m.path), free(m.link);
			break;
		}
	}
	free(long_name), free(long_link);
	return t;
}

void cr_tar_close(struct cr_tar *t)
{
	for (size_t i = 0; t && i < t->n; i++)
		free(t->m[i].path), free(t->m[i].link);
	if (t)
		free(t->m);
	free(t);
}

/* The last member of that exact name (a later one replaces an earlier). */
static const struct member *named(const struct cr_tar *t, const char *path)
{
	for (size_t i = t->n; i-- > 0;)
		if (strcmp(t->m[i].path, path) == 0)
			return &t->m[i];
	return NULL;
}

bool cr_tar_find(const struct cr_tar *t, const char *path, off_t *off, off_t *size)
{
	char cur[4096], next[8192];
	normalise(path, cur, sizeof cur);
	for (int hops = 0; hops < MAX_LINKS; hops++) {
		/* The first folder or file on the way that is a symbolic link. */
		const struct member *link = NULL;
		size_t at = 0, len = strlen(cur);
		for (size_t k = 1; k <= len && !link; k++) {
			if (k < len && cur[k] != '/')
				continue;
			char c = cur[k];
			cur[k] = '\0';
			const struct member *m = named(t, cur);
			cur[k] = c;
			if (m && m->type == '2')
				link = m, at = k;
		}
		if (!link) {
			const struct member *m = named(t, cur);
			if (m && m->type == '1') /* a hard link names its first member */
				m = named(t, m->link);
			if (!m || (m->type != '0' && m->type != '7'))
				return false;
			*off = m->off, *size = m->size;
			return true;
		}
		const char *slash = memrchr(cur, '/', at);
		if (link->link[0] == '/')
			snprintf(next, sizeof next, "%s%s", link->link, cur + at);
		else
			snprintf(next, sizeof next, "%.*s/%s%s", slash ? (int)(slash - cur) : 0, cur, link->link,
				 cur + at);
		normalise(next, cur, sizeof cur);
	}
	return false; /* a loop of links */
}
