/* Building the rule index (index.h): prefixes sorted into elementary
 * intervals with their rule lists, a first-level table over them, and the
 * unix path keys. Runs at load; the look-up is index_lookup.c. */
#include "index_impl.h"
#include "bigmem.h"
#include "rules_impl.h"

#include <stdlib.h>
#include <string.h>

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

/* One distinct prefix and the rules that name it (building only). */
struct node {
	struct key start, end;
	uint8_t len;
	int32_t parent;
	uint32_t off, n; /* into the pool */
};

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

/* Writes node i's list to the pool: its own rules merged with those of its
 * enclosing prefix when that list is short, or linked to it. Returns the
 * list value (see LIST_ONE). */
static uint32_t write_list(struct pool *pool, const struct node *nd, uint32_t parent_list)
{
	const uint32_t *own = pool->v + nd->off;
	uint32_t merged[LIST_MERGE_MAX + 1], nm = 0, link = parent_list;
	/* The parent's rules, if they are few and all in one list. */
	const uint32_t *up = NULL;
	uint32_t nup = 0, one;
	if (parent_list != LIST_NONE && (parent_list & LIST_ONE)) {
		one = parent_list & ~LIST_ONE;
		up = &one;
		nup = 1;
	} else if (parent_list != LIST_NONE && pool->v[parent_list + 1] == LIST_NONE &&
		   pool->v[parent_list] + nd->n <= LIST_MERGE_MAX) {
		up = pool->v + parent_list + 2;
		nup = pool->v[parent_list];
	}
	if (up || parent_list == LIST_NONE) {
		if (nd->n + nup <= LIST_MERGE_MAX) {
			uint32_t i = 0, j = 0;
			while (i < nd->n || j < nup) {
				uint32_t x = j == nup || (i < nd->n && own[i] < up[j]) ? own[i++] : up[j++];
				if (nm == 0 || merged[nm - 1] != x)
					merged[nm++] = x;
			}
			link = LIST_NONE;
			if (nm == 1)
				return LIST_ONE | merged[0];
			own = merged;
		}
	}
	uint32_t n = own == merged ? nm : nd->n;
	/* The node's own rules may hold duplicates (a rule naming a prefix twice). */
	uint32_t at = pool_add(pool, 0);
	pool_add(pool, link);
	uint32_t kept = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t x = own == merged ? merged[i] : pool->v[nd->off + i];
		if (kept == 0 || pool->v[pool->n - 1] != x) {
			pool_add(pool, x);
			kept++;
		}
	}
	if (!pool->failed)
		pool->v[at] = kept;
	return at;
}

/* Groups identical prefixes (items sorted) into nodes, their rules sorted
 * into the pool, and gathers every interval boundary. Returns the number
 * of nodes. */
static uint32_t group_nodes(const struct item *items, size_t n, unsigned bits, struct pool *pool, struct node *nodes,
			    struct key *bounds, uint32_t *nb)
{
	uint32_t nnodes = 0;
	*nb = 0;
	bounds[(*nb)++] = (struct key){ 0, 0 };
	for (size_t i = 0; i < n;) {
		struct node *nd = &nodes[nnodes];
		nd->start = items[i].start;
		nd->len = items[i].len;
		bool last;
		nd->end = key_end(nd->start, nd->len, bits, &last);
		nd->off = pool->n;
		size_t j = i;
		for (; j < n && key_cmp(items[j].start, nd->start) == 0 && items[j].len == nd->len; j++)
			pool_add(pool, items[j].rule);
		nd->n = (uint32_t)(j - i);
		bounds[(*nb)++] = nd->start;
		if (!last)
			bounds[(*nb)++] = key_next(nd->end);
		nnodes++;
		i = j;
	}
	return nnodes;
}

/* Each node's parent (the nodes come sorted by start, enclosing ones
 * first), and its list, written after its parent's. */
static void write_lists(struct node *nodes, uint32_t nnodes, int32_t *stack, uint32_t *lists, struct pool *pool)
{
	uint32_t depth = 0;
	for (uint32_t i = 0; i < nnodes; i++) {
		struct node *nd = &nodes[i];
		while (depth && key_cmp(nodes[stack[depth - 1]].end, nd->start) < 0)
			depth--;
		nd->parent = depth ? stack[depth - 1] : -1;
		stack[depth++] = (int32_t)i;
		lists[i] = write_list(pool, nd, nd->parent >= 0 ? lists[nd->parent] : LIST_NONE);
	}
}

/* The elementary intervals (bounds, sorted and distinct), each with the
 * list of the deepest node covering it. */
static bool write_intervals(struct table *t, const struct key *bounds, uint32_t m, const struct node *nodes,
			    uint32_t nnodes, int32_t *stack, const uint32_t *lists, unsigned bits)
{
	t->n = m;
	if (m >= 2) {
		t->first = bounds[1];
		t->last = bounds[m - 1];
	}
	if (bits == 32)
		t->v4 = malloc(m * sizeof *t->v4);
	else
		t->v6 = malloc(m * sizeof *t->v6);
	if ((!t->v4 && !t->v6) || (t->v6 && !(t->lo6 = malloc((m + 1) * sizeof *t->lo6))))
		return false;
	uint32_t depth = 0, next = 0, nlo = 1;
	if (t->lo6)
		t->lo6[0] = 0; /* unused, but written out in an image */
	for (uint32_t i = 0; i < m; i++) {
		struct key b = bounds[i];
		while (next < nnodes && key_cmp(nodes[next].start, b) <= 0) {
			while (depth && key_cmp(nodes[stack[depth - 1]].end, nodes[next].start) < 0)
				depth--;
			stack[depth++] = (int32_t)next++;
		}
		while (depth && key_cmp(nodes[stack[depth - 1]].end, b) < 0)
			depth--;
		uint32_t list = depth ? lists[stack[depth - 1]] : LIST_NONE;
		if (t->v4)
			t->v4[i] = (struct ival4){ (uint32_t)b.lo, list };
		else
			t->v6[i] = (struct ival6){ b.hi, b.lo ? nlo : 0, list };
		if (t->v6 && b.lo)
			t->lo6[nlo++] = b.lo;
	}
	if (t->v6)
		t->nlo6 = nlo;
	return true;
}

/* The first-level table, over the intervals 1 .. m-1 (interval 0 starts at
 * address 0, below every other). About one bucket an interval. */
static bool build_buckets(struct table *t, const struct key *bounds, uint32_t m, unsigned bits)
{
	if (m <= 2)
		return true;
	unsigned __int128 first = key_value(bounds[1]), last = key_value(bounds[m - 1]);
	unsigned skip = 0;
	while (skip < bits && ((first << (128 - bits + skip)) >> 127) == ((last << (128 - bits + skip)) >> 127))
		skip++;
	unsigned bb = 1;
	while (bb < 21 && (1u << bb) < 2 * m)
		bb++;
	if (bb > bits - skip)
		bb = bits - skip;
	t->skip = skip;
	t->bucket_bits = bb;
	t->bucket = malloc(((1u << bb) + 1) * sizeof *t->bucket);
	if (!t->bucket)
		return false;
	uint32_t i = 1;
	for (uint32_t b = 0; b <= (1u << bb); b++) {
		while (i < m - 1 && bucket_of(key_value(bounds[i]), bits, skip, bb) < b)
			i++;
		t->bucket[b] = i;
	}
	t->bucket[1u << bb] = m - 1;
	return true;
}

static bool build_table(struct table *t, struct item *items, size_t n, unsigned bits, struct pool *pool)
{
	memset(t, 0, sizeof *t);
	if (n == 0)
		return true;
	if (!radix_sort(items, n, sizeof *items, 1 + bits / 8, item_byte))
		return false;
	struct node *nodes = calloc(n, sizeof *nodes);
	struct key *bounds = calloc(2 * n + 1, sizeof *bounds);
	int32_t *stack = calloc(n, sizeof *stack);
	uint32_t *lists = calloc(n, sizeof *lists);
	bool ok = false;
	if (!nodes || !bounds || !stack || !lists)
		goto out;
	uint32_t nb, nnodes = group_nodes(items, n, bits, pool, nodes, bounds, &nb);
	if (pool->failed)
		goto out;
	write_lists(nodes, nnodes, stack, lists, pool);
	if (pool->failed || !radix_sort(bounds, nb, sizeof *bounds, bits / 8, bound_byte))
		goto out;
	uint32_t m = 0;
	for (uint32_t i = 0; i < nb; i++)
		if (m == 0 || key_cmp(bounds[m - 1], bounds[i]) != 0)
			bounds[m++] = bounds[i];
	ok = write_intervals(t, bounds, m, nodes, nnodes, stack, lists, bits) && build_buckets(t, bounds, m, bits);
out:
	free(nodes);
	free(bounds);
	free(stack);
	free(lists);
	return ok;
}

static struct path_entry *path_slot(struct cr_index *ix, const char *key, size_t n)
{
	uint64_t h = hash_bytes(key, n);
	uint32_t mask = ix->npaths_cap - 1, i = (uint32_t)h & mask;
	while (ix->paths[i].len &&
	       !(ix->paths[i].hash == h && ix->paths[i].len == n && memcmp(ix->keys + ix->paths[i].key, key, n) == 0))
		i = (i + 1) & mask;
	ix->paths[i].hash = h;
	ix->paths[i].len = (uint32_t)n;
	ix->path_tags[i] = path_tag(h);
	memcpy(ix->paths[i].head, key, n < PATH_INLINE ? n : PATH_INLINE);
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

/* The rules' keys before grouping: each prefix, each path pattern's key,
 * and the rules no index can exclude (candidates for every destination of
 * their kind), in rule order. */
struct keys {
	struct item *i4, *i6;
	struct path_item *pi;
	size_t k4, k6, kp;
	struct pool ip_always, unix_always;
};

static void keys_free(struct keys *k)
{
	for (size_t i = 0; i < k->kp; i++)
		free(k->pi[i].key);
	free(k->i4);
	free(k->i6);
	free(k->pi);
	free(k->ip_always.v);
	free(k->unix_always.v);
}

static void add_rule_keys(const struct cr_draft_rule *r, uint32_t i, struct keys *k)
{
	if (r->resolver)
		return; /* it decides look-ups, never a connect */
	bool any_ip = !r->has_dst || r->dst_any || r->nhosts;
	bool any_unix = !r->has_dst && !r->npaths;
	if (any_ip && !r->npaths)
		pool_add(&k->ip_always, i);
	if (any_unix)
		pool_add(&k->unix_always, i);
	if (r->has_dst && !any_ip) {
		for (unsigned j = 0; j < r->nprefixes; j++) {
			const struct cr_prefix *p = &r->prefixes[j];
			struct item it = { key_of(p->addr, p->family == CR_FAM_INET6), p->len, i };
			if (p->family == CR_FAM_INET)
				k->i4[k->k4++] = it;
			else
				k->i6[k->k6++] = it;
		}
	}
	for (unsigned j = 0; j < r->npaths; j++) {
		char *key = path_key(r->paths[j]);
		if (key)
			k->pi[k->kp++] = (struct path_item){ key, i };
		else if (!k->unix_always.n || k->unix_always.v[k->unix_always.n - 1] != i)
			pool_add(&k->unix_always, i);
	}
}

static bool collect_keys(const struct cr_draft_rule *rules, unsigned nrules, struct keys *k)
{
	size_t n4 = 0, n6 = 0, np = 0;
	for (unsigned i = 0; i < nrules; i++) {
		const struct cr_draft_rule *r = &rules[i];
		for (unsigned j = 0; j < r->nprefixes; j++)
			*(r->prefixes[j].family == CR_FAM_INET ? &n4 : &n6) += 1;
		np += r->npaths;
	}
	k->i4 = calloc(n4 + 1, sizeof *k->i4);
	k->i6 = calloc(n6 + 1, sizeof *k->i6);
	k->pi = calloc(np + 1, sizeof *k->pi);
	if (!k->i4 || !k->i6 || !k->pi)
		return false;
	for (unsigned i = 0; i < nrules; i++)
		add_rule_keys(&rules[i], i, k);
	return !k->ip_always.failed && !k->unix_always.failed;
}

/* Only a rule's only pattern made this key (e->n is 1): then the pattern
 * is the key and its tail, kept in the entry when it fits. */
static void keep_tail(struct path_entry *e, const char *key, const struct cr_draft_rule *r)
{
	const char *tail = r->npaths != 1 ? NULL : key[0] == '=' ? "" : r->paths[0] + e->len;
	size_t tl = tail ? strlen(tail) : 0;
	if (tail && e->len + 1 + tl + 1 <= PATH_INLINE) {
		memcpy(e->head + e->len + 1, tail, tl + 1);
		e->tail = (uint8_t)(e->len + 2);
		if (tail[0] == '*' && !strpbrk(tail + 1, "*?[\\"))
			e->tail |= TAIL_STAR_LITERAL;
	}
}

/* Paths: grouped by key into an open-addressing table, the keys written
 * one after another into ix->keys. */
static bool build_paths(struct cr_index *ix, const struct cr_draft_rule *rules, struct keys *k, struct pool *pool)
{
	struct path_item *pi = k->pi;
	qsort(pi, k->kp, sizeof *pi, path_item_cmp);
	ix->npaths_cap = 16;
	while (ix->npaths_cap < 2 * k->kp + 2)
		ix->npaths_cap *= 2;
	size_t keybytes = 1;
	for (size_t i = 0; i < k->kp; i++)
		keybytes += strlen(pi[i].key) + 1;
	ix->paths = cr_big_calloc(ix->npaths_cap * sizeof *ix->paths);
	ix->path_tags = calloc(ix->npaths_cap + PATH_TAGS_PAD, 1);
	ix->keys = calloc(1, keybytes);
	if (!ix->paths || !ix->path_tags || !ix->keys || keybytes > UINT32_MAX)
		return false;
	ix->nkeys = 1; /* offset 0 is no key */
	for (size_t i = 0; i < k->kp;) {
		size_t j = i, len = strlen(pi[i].key);
		memcpy(ix->keys + ix->nkeys, pi[i].key, len + 1);
		struct path_entry *e = path_slot(ix, pi[i].key, len);
		e->key = ix->nkeys;
		ix->nkeys += (uint32_t)len + 1;
		if (pi[i].key[0] == '=') {
			ix->exact_paths = true;
		} else {
			unsigned slashes = 0;
			for (const char *q = pi[i].key; *q; q++)
				slashes += *q == '/';
			ix->folder_depths |= 1ULL << (slashes < 63 ? slashes : 63);
		}
		e->off = pool->n;
		uint32_t last = UINT32_MAX;
		for (; j < k->kp && strcmp(pi[j].key, pi[i].key) == 0; j++) {
			if (pi[j].rule != last)
				pool_add(pool, pi[j].rule);
			last = pi[j].rule;
		}
		e->n = pool->n - e->off;
		if (e->n == 1) { /* the rule itself, not its place in the pool */
			e->off = pool->v[--pool->n];
			keep_tail(e, pi[i].key, &rules[e->off]);
		}
		i = j;
	}
	memcpy(ix->path_tags + ix->npaths_cap, ix->path_tags, PATH_TAGS_PAD);
	return true;
}

static size_t index_bytes(const struct cr_index *ix)
{
	size_t bytes = sizeof *ix + ix->npool * sizeof(uint32_t) + ix->v4.n * sizeof(struct ival4) +
		       ix->v6.n * sizeof(struct ival6) + ix->npaths_cap * (sizeof *ix->paths + 1) + ix->nkeys +
		       ix->v6.nlo6 * sizeof(uint64_t);
	for (int f = 0; f < 2; f++) {
		const struct table *t = f ? &ix->v6 : &ix->v4;
		if (t->bucket)
			bytes += ((1u << t->bucket_bits) + 1) * sizeof *t->bucket;
	}
	return bytes;
}

struct cr_index *cr_index_build(const struct cr_draft_rule *rules, unsigned nrules)
{
	struct cr_index *ix = calloc(1, sizeof *ix);
	struct pool pool = { 0 };
	struct keys k = { 0 };
	if (!ix || !collect_keys(rules, nrules, &k))
		goto fail;
	ix->ip_off = pool.n;
	for (uint32_t j = 0; j < k.ip_always.n; j++)
		pool_add(&pool, k.ip_always.v[j]);
	ix->ip_n = k.ip_always.n;
	ix->unix_off = pool.n;
	for (uint32_t j = 0; j < k.unix_always.n; j++)
		pool_add(&pool, k.unix_always.v[j]);
	ix->unix_n = k.unix_always.n;
	if (!build_table(&ix->v4, k.i4, k.k4, 32, &pool) || !build_table(&ix->v6, k.i6, k.k6, 128, &pool) ||
	    !build_paths(ix, rules, &k, &pool) || pool.failed)
		goto fail;
	keys_free(&k);
	ix->pool = pool.v;
	ix->npool = pool.n;
	ix->bytes = index_bytes(ix);
	return ix;
fail:
	keys_free(&k);
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
		free(ts[i]->v4);
		free(ts[i]->v6);
		free(ts[i]->lo6);
		free(ts[i]->bucket);
	}
	cr_big_free(ix->paths);
	free(ix->path_tags);
	free(ix->keys);
	free(ix->pool);
	free(ix);
}

size_t cr_index_size(const struct cr_index *ix)
{
	return ix ? ix->bytes : 0;
}
