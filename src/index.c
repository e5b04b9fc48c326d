#include "index.h"
#include "rules.h"

#include <stdlib.h>
#include <string.h>

/* A 128-bit address key; IPv4 uses lo only. */
struct key {
	uint64_t hi, lo;
};

static int key_cmp(struct key a, struct key b)
{
	if (a.hi != b.hi)
		return a.hi < b.hi ? -1 : 1;
	if (a.lo != b.lo)
		return a.lo < b.lo ? -1 : 1;
	return 0;
}

static struct key key_of(const uint8_t *addr, bool v6)
{
	struct key k = { 0, 0 };
	if (!v6) {
		k.lo = (uint64_t)addr[0] << 24 | (uint64_t)addr[1] << 16 | (uint64_t)addr[2] << 8 | addr[3];
		return k;
	}
	for (int i = 0; i < 8; i++) {
		k.hi = k.hi << 8 | addr[i];
		k.lo = k.lo << 8 | addr[8 + i];
	}
	return k;
}

/* The last address of a prefix of len bits in a space of bits; *last if it
 * is the very last address (so end + 1 would wrap). */
static struct key key_end(struct key start, unsigned len, unsigned bits, bool *last)
{
	struct key e = start;
	unsigned host = bits - len;
	if (host >= 64) {
		e.lo = ~0ULL;
		e.hi |= host - 64 >= 64 ? ~0ULL : (1ULL << (host - 64)) - 1;
	} else if (host > 0) {
		e.lo |= (1ULL << host) - 1;
	}
	*last = bits == 32 ? e.lo == 0xffffffffULL : (e.hi == ~0ULL && e.lo == ~0ULL);
	return e;
}

static struct key key_next(struct key k)
{
	if (++k.lo == 0)
		k.hi++;
	return k;
}

/* One distinct prefix and the rules that name it. */
struct node {
	struct key start, end;
	uint8_t len;
	int32_t parent;
	uint32_t off, n; /* into the pool */
};

struct table {
	struct node *nodes;
	uint32_t nnodes;
	struct key *bounds; /* sorted starts of the elementary intervals */
	uint32_t *bounds32; /* the same, IPv4: a quarter of the memory to search */
	int32_t *deepest;   /* per interval: the deepest covering node, or -1 */
	uint32_t nbounds;
};

struct path_entry {
	uint64_t hash;
	char *key;          /* "=/exact/path" or "/folder/" */
	uint32_t len, off, n;
};

struct cr_index {
	struct table v4, v6;
	uint32_t *pool;
	uint32_t npool;
	/* Candidates for every IP destination, and for every unix one. */
	uint32_t ip_off, ip_n, unix_off, unix_n;
	struct path_entry *paths;
	uint32_t npaths_cap;
	size_t bytes;
};

/* ---- building ---- */

struct item { /* one (prefix, rule) pair before grouping */
	struct key start;
	uint8_t len;
	uint32_t rule;
};

/* Byte b (0 = least significant) of a key. */
static unsigned key_byte(struct key k, unsigned b)
{
	return b < 8 ? (unsigned)(k.lo >> (8 * b)) & 255 : (unsigned)(k.hi >> (8 * (b - 8))) & 255;
}

/* LSD radix sort, stable: one pass a byte, a pass skipped when every
 * element has the same byte there. Loads of 100,000 rules sort in a few
 * milliseconds, where qsort took tens. byte_of(e, b) gives byte b of e. */
static bool radix_sort(void *base, size_t n, size_t size, unsigned nbytes, unsigned (*byte_of)(const void *, unsigned))
{
	char *tmp = malloc(n > 0 ? n * size : 1), *src = base, *dst = tmp;
	if (!tmp)
		return false;
	for (unsigned b = 0; b < nbytes; b++) {
		size_t count[257] = { 0 };
		for (size_t i = 0; i < n; i++)
			count[byte_of(src + i * size, b) + 1]++;
		bool one_value = false;
		for (unsigned v = 1; v <= 256; v++)
			if (count[v] == n)
				one_value = true;
		if (one_value)
			continue;
		for (unsigned v = 1; v <= 256; v++)
			count[v] += count[v - 1];
		for (size_t i = 0; i < n; i++)
			memcpy(dst + count[byte_of(src + i * size, b)]++ * size, src + i * size, size);
		char *t = src;
		src = dst;
		dst = t;
	}
	if (src != base)
		memcpy(base, src, n * size);
	free(tmp);
	return true;
}

/* Items sort by start, then length (the enclosing, shorter, first); they
 * arrive in rule order, which the stable sort keeps among equals. */
static unsigned item_byte(const void *e, unsigned b)
{
	const struct item *it = e;
	return b == 0 ? it->len : key_byte(it->start, b - 1);
}

static unsigned bound_byte(const void *e, unsigned b)
{
	return key_byte(*(const struct key *)e, b);
}

struct pool {
	uint32_t *v;
	uint32_t n, cap;
	bool failed;
};

static uint32_t pool_add(struct pool *p, uint32_t x)
{
	if (p->n == p->cap) {
		uint32_t cap = p->cap ? p->cap * 2 : 1024;
		uint32_t *v = realloc(p->v, cap * sizeof *v);
		if (!v) {
			p->failed = true;
			return p->n;
		}
		p->v = v;
		p->cap = cap;
	}
	p->v[p->n] = x;
	return p->n++;
}

static bool build_table(struct table *t, struct item *items, size_t n, unsigned bits, struct pool *pool)
{
	memset(t, 0, sizeof *t);
	if (n == 0)
		return true;
	if (!radix_sort(items, n, sizeof *items, 1 + bits / 8, item_byte))
		return false;
	t->nodes = calloc(n, sizeof *t->nodes);
	t->bounds = calloc(2 * n + 1, sizeof *t->bounds);
	t->deepest = calloc(2 * n + 1, sizeof *t->deepest);
	int32_t *stack = calloc(n, sizeof *stack);
	if (!t->nodes || !t->bounds || !t->deepest || !stack) {
		free(stack);
		return false;
	}
	/* Group identical prefixes into nodes; their rules, sorted, to the pool. */
	uint32_t nb = 0;
	t->bounds[nb++] = (struct key){ 0, 0 };
	for (size_t i = 0; i < n;) {
		struct node *nd = &t->nodes[t->nnodes];
		nd->start = items[i].start;
		nd->len = items[i].len;
		bool last;
		nd->end = key_end(nd->start, nd->len, bits, &last);
		nd->off = pool->n;
		size_t j = i;
		for (; j < n && key_cmp(items[j].start, nd->start) == 0 && items[j].len == nd->len; j++)
			pool_add(pool, items[j].rule);
		nd->n = (uint32_t)(j - i);
		t->bounds[nb++] = nd->start;
		if (!last)
			t->bounds[nb++] = key_next(nd->end);
		t->nnodes++;
		i = j;
	}
	/* Parents: the nodes come sorted by start, enclosing ones first. */
	uint32_t depth = 0;
	for (uint32_t i = 0; i < t->nnodes; i++) {
		struct node *nd = &t->nodes[i];
		while (depth && key_cmp(t->nodes[stack[depth - 1]].end, nd->start) < 0)
			depth--;
		nd->parent = depth ? stack[depth - 1] : -1;
		stack[depth++] = (int32_t)i;
	}
	/* Elementary intervals, and the deepest node covering each. */
	if (!radix_sort(t->bounds, nb, sizeof *t->bounds, bits / 8, bound_byte)) {
		free(stack);
		return false;
	}
	uint32_t m = 0;
	for (uint32_t i = 0; i < nb; i++)
		if (m == 0 || key_cmp(t->bounds[m - 1], t->bounds[i]) != 0)
			t->bounds[m++] = t->bounds[i];
	t->nbounds = m;
	if (bits == 32) {
		t->bounds32 = malloc(m * sizeof *t->bounds32);
		if (!t->bounds32) {
			free(stack);
			return false;
		}
		for (uint32_t i = 0; i < m; i++)
			t->bounds32[i] = (uint32_t)t->bounds[i].lo;
	}
	depth = 0;
	uint32_t next = 0;
	for (uint32_t i = 0; i < m; i++) {
		struct key b = t->bounds[i];
		while (next < t->nnodes && key_cmp(t->nodes[next].start, b) <= 0) {
			while (depth && key_cmp(t->nodes[stack[depth - 1]].end, t->nodes[next].start) < 0)
				depth--;
			stack[depth++] = (int32_t)next++;
		}
		while (depth && key_cmp(t->nodes[stack[depth - 1]].end, b) < 0)
			depth--;
		t->deepest[i] = depth ? stack[depth - 1] : -1;
	}
	free(stack);
	return true;
}

static uint64_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

static struct path_entry *path_slot(struct cr_index *ix, const char *key, size_t n)
{
	uint64_t h = hash_bytes(key, n);
	uint32_t mask = ix->npaths_cap - 1, i = (uint32_t)h & mask;
	while (ix->paths[i].key && !(ix->paths[i].hash == h && ix->paths[i].len == n &&
				     memcmp(ix->paths[i].key, key, n) == 0))
		i = (i + 1) & mask;
	ix->paths[i].hash = h;
	ix->paths[i].len = (uint32_t)n;
	return &ix->paths[i];
}

/* The literal folder a path glob starts with ("/run/" for "/run/" "*.sock"),
 * or the whole path marked exact ("=/run/x.sock"); NULL when it begins with
 * a wildcard. Returns a new string. */
static char *path_key(const char *pattern)
{
	size_t lit = strcspn(pattern, "*?[\\");
	if (pattern[lit] == '\0') {
		char *k = malloc(lit + 2);
		if (k) {
			k[0] = '=';
			memcpy(k + 1, pattern, lit + 1);
		}
		return k;
	}
	size_t dir = lit;
	while (dir > 0 && pattern[dir - 1] != '/')
		dir--;
	if (dir == 0)
		return NULL;
	return strndup(pattern, dir);
}

struct path_item {
	char *key;
	uint32_t rule;
};

static int path_item_cmp(const void *a, const void *b)
{
	const struct path_item *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	return c ? c : (x->rule < y->rule ? -1 : x->rule > y->rule);
}

struct cr_index *cr_index_build(const struct cr_ruleset *rs)
{
	struct cr_index *ix = calloc(1, sizeof *ix);
	struct pool pool = { 0 };
	size_t n4 = 0, n6 = 0, np = 0;
	for (unsigned i = 0; i < rs->nrules; i++) {
		const struct cr_rule *r = &rs->rules[i];
		for (unsigned j = 0; j < r->nprefixes; j++)
			*(r->prefixes[j].family == CR_FAM_INET ? &n4 : &n6) += 1;
		np += r->npaths;
	}
	struct item *i4 = calloc(n4 + 1, sizeof *i4), *i6 = calloc(n6 + 1, sizeof *i6);
	struct path_item *pi = calloc(np + 1, sizeof *pi);
	if (!ix || !i4 || !i6 || !pi)
		goto fail;
	size_t k4 = 0, k6 = 0, kp = 0;
	/* Rules no index can exclude, in order. */
	struct pool ip_always = { 0 }, unix_always = { 0 };
	for (unsigned i = 0; i < rs->nrules; i++) {
		const struct cr_rule *r = &rs->rules[i];
		bool any_ip = !r->has_dst || r->dst_any || r->nhosts;
		bool any_unix = !r->has_dst && !r->npaths;
		if (any_ip && !r->npaths)
			pool_add(&ip_always, i);
		if (any_unix)
			pool_add(&unix_always, i);
		if (r->has_dst && !any_ip) {
			for (unsigned j = 0; j < r->nprefixes; j++) {
				const struct cr_prefix *p = &r->prefixes[j];
				struct item it = { key_of(p->addr, p->family == CR_FAM_INET6), p->len, i };
				if (p->family == CR_FAM_INET)
					i4[k4++] = it;
				else
					i6[k6++] = it;
			}
		}
		for (unsigned j = 0; j < r->npaths; j++) {
			char *key = path_key(r->paths[j]);
			if (!key) {
				if (!unix_always.n || unix_always.v[unix_always.n - 1] != i)
					pool_add(&unix_always, i);
				continue;
			}
			pi[kp++] = (struct path_item){ key, i };
		}
	}
	if (ip_always.failed || unix_always.failed)
		goto fail_lists;
	ix->ip_off = pool.n;
	for (uint32_t j = 0; j < ip_always.n; j++)
		pool_add(&pool, ip_always.v[j]);
	ix->ip_n = ip_always.n;
	ix->unix_off = pool.n;
	for (uint32_t j = 0; j < unix_always.n; j++)
		pool_add(&pool, unix_always.v[j]);
	ix->unix_n = unix_always.n;
	free(ip_always.v);
	free(unix_always.v);
	ip_always.v = unix_always.v = NULL;

	if (!build_table(&ix->v4, i4, k4, 32, &pool) || !build_table(&ix->v6, i6, k6, 128, &pool))
		goto fail_lists;

	/* Paths: group by key into an open-addressing table. */
	qsort(pi, kp, sizeof *pi, path_item_cmp);
	ix->npaths_cap = 16;
	while (ix->npaths_cap < 2 * kp + 2)
		ix->npaths_cap *= 2;
	ix->paths = calloc(ix->npaths_cap, sizeof *ix->paths);
	if (!ix->paths)
		goto fail_lists;
	for (size_t i = 0; i < kp;) {
		size_t j = i;
		struct path_entry *e = path_slot(ix, pi[i].key, strlen(pi[i].key));
		e->key = pi[i].key;
		e->off = pool.n;
		uint32_t last = UINT32_MAX;
		for (; j < kp && strcmp(pi[j].key, pi[i].key) == 0; j++) {
			if (pi[j].rule != last)
				pool_add(&pool, pi[j].rule);
			last = pi[j].rule;
			if (j > i)
				free(pi[j].key);
		}
		e->n = pool.n - e->off;
		i = j;
	}
	free(pi);
	free(i4);
	free(i6);
	if (pool.failed) {
		cr_index_free(ix);
		free(pool.v);
		return NULL;
	}
	ix->pool = pool.v;
	ix->npool = pool.n;
	ix->bytes = sizeof *ix + pool.n * sizeof(uint32_t) +
		    (ix->v4.nnodes + ix->v6.nnodes) * sizeof(struct node) +
		    (ix->v4.nbounds + ix->v6.nbounds) * (sizeof(struct key) + sizeof(int32_t)) +
		    ix->npaths_cap * sizeof *ix->paths;
	return ix;

fail_lists:
	free(ip_always.v);
	free(unix_always.v);
	for (size_t i = 0; i < kp; i++)
		free(pi[i].key);
fail:
	free(i4);
	free(i6);
	free(pi);
	free(pool.v);
	cr_index_free(ix);
	return NULL;
}

void cr_index_free(struct cr_index *ix)
{
	if (!ix)
		return;
	struct table *ts[2] = { &ix->v4, &ix->v6 };
	for (int i = 0; i < 2; i++) {
		free(ts[i]->nodes);
		free(ts[i]->bounds);
		free(ts[i]->bounds32);
		free(ts[i]->deepest);
	}
	if (ix->paths)
		for (uint32_t i = 0; i < ix->npaths_cap; i++)
			free(ix->paths[i].key);
	free(ix->paths);
	free(ix->pool);
	free(ix);
}

size_t cr_index_size(const struct cr_index *ix)
{
	return ix ? ix->bytes : 0;
}

/* ---- look-up ---- */

/* A list of n rules at off in the pool (which is NULL when no rule has a key). */
static void add(struct cr_candidates *c, const struct cr_index *ix, uint32_t off, uint32_t n, bool dst_matched)
{
	if (n && c->n < CR_INDEX_MAX_LISTS) {
		c->list[c->n] = ix->pool + off;
		c->dst_matched[c->n] = dst_matched;
		c->len[c->n++] = n;
	}
}

static void lookup_table(const struct cr_index *ix, const struct table *t, struct key k, struct cr_candidates *c)
{
	if (!t->nbounds)
		return;
	/* The last interval that starts at or before k. */
	uint32_t lo = 0, hi = t->nbounds;
	if (t->bounds32) {
		uint32_t k32 = (uint32_t)k.lo;
		while (hi - lo > 1) {
			uint32_t mid = lo + (hi - lo) / 2;
			if (t->bounds32[mid] <= k32)
				lo = mid;
			else
				hi = mid;
		}
	} else {
		while (hi - lo > 1) {
			uint32_t mid = lo + (hi - lo) / 2;
			if (key_cmp(t->bounds[mid], k) <= 0)
				lo = mid;
			else
				hi = mid;
		}
	}
	for (int32_t nd = t->deepest[lo]; nd >= 0; nd = t->nodes[nd].parent)
		add(c, ix, t->nodes[nd].off, t->nodes[nd].n, true);
}

static void lookup_path(const struct cr_index *ix, uint64_t h, const char *key, size_t n, struct cr_candidates *c)
{
	uint32_t mask = ix->npaths_cap - 1, i = (uint32_t)h & mask;
	for (; ix->paths[i].key; i = (i + 1) & mask) {
		const struct path_entry *e = &ix->paths[i];
		if (e->hash == h && e->len == n && memcmp(e->key, key, n) == 0) {
			add(c, ix, e->off, e->n, false);
			return;
		}
	}
}

void cr_index_candidates(const struct cr_index *ix, const struct cr_dest *d, struct cr_candidates *c)
{
	c->n = 0;
	if (d->family == CR_FAM_INET || d->family == CR_FAM_INET6) {
		add(c, ix, ix->ip_off, ix->ip_n, false);
		if (d->family == CR_FAM_INET)
			lookup_table(ix, &ix->v4, key_of(d->addr, false), c);
		else
			lookup_table(ix, &ix->v6, key_of(d->addr, true), c);
		return;
	}
	if (d->family != CR_FAM_UNIX)
		return;
	add(c, ix, ix->unix_off, ix->unix_n, false);
	if (!ix->npaths_cap || d->path_len == 0)
		return;
	/* The exact path, then every folder it lies in; the folders' hashes
	 * grow along the path, one pass. */
	char key[sizeof d->path + 2];
	key[0] = '=';
	memcpy(key + 1, d->path, d->path_len);
	lookup_path(ix, hash_bytes(key, (size_t)d->path_len + 1), key, (size_t)d->path_len + 1, c);
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < d->path_len; i++) {
		h = (h ^ (unsigned char)d->path[i]) * 1099511628211ULL;
		if (d->path[i] == '/')
			lookup_path(ix, h, d->path, i + 1, c);
	}
}
