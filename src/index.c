#include "index.h"
#include "glob.h"
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

/* One distinct prefix and the rules that name it (building only). */
struct node {
	struct key start, end;
	uint8_t len;
	int32_t parent;
	uint32_t off, n; /* into the pool */
};

/* A rule list, as an elementary interval names it: NONE; one rule, inline
 * (ONE | rule); or the offset in the pool of [n, link, rule...], where link
 * is the list of an enclosing prefix to go on with (or NONE). Lists of
 * nested prefixes are merged into one when short, so that a look-up
 * usually reads one list, or none at all. */
#define LIST_NONE UINT32_MAX
#define LIST_ONE 0x80000000u
#define LIST_MERGE_MAX 16

/* An elementary interval: where it starts, and its list. The two share an
 * entry, so that the last step of the search fetches both. */
struct ival4 {
	uint32_t start, list;
};
/* IPv6: 16 bytes, four a cache line. The low half of the start is zero for
 * every prefix up to /64; the others' low halves live apart (lo_ref). */
struct ival6 {
	uint64_t hi;
	uint32_t lo_ref; /* 0: the low half is 0; else its index in the table's lo6 */
	uint32_t list;
};

/* The intervals of one family, and a first-level table that narrows the
 * search: the bits after those all interval starts share (`skip`) select a
 * bucket, which holds the first interval starting in it. */
struct table {
	uint32_t n;
	unsigned skip, bucket_bits;
	/* The starts of intervals 1 and n-1: an address outside them (the
	 * common case of a blocklist and a local service) is settled without
	 * reading the table itself. */
	struct key first, last;
	struct ival4 *v4;
	struct ival6 *v6;
	uint64_t *lo6;     /* the nonzero low halves of IPv6 starts */
	uint32_t *bucket;
};

/* One cache line a key: a look-up that finds a short key reads nothing else.
 * When the key belongs to one rule with one pattern, the rest of that
 * pattern after the key (its tail: "*.sock" of "/run/" "*.sock") is kept
 * in the line too, so that the look-up settles the path itself and the
 * decision never reads the pattern. */
#define PATH_INLINE 35
struct path_entry {
	uint64_t hash;
	char *key;          /* "=/exact/path" or "/folder/"; NULL: a free slot */
	uint32_t len;
	uint32_t off, n;    /* the rules, in the pool; or, when n is 1, off is the rule */
	uint8_t tail;       /* 1 + where the tail starts in head; 0: none */
	char head[PATH_INLINE]; /* the key's first bytes, then the tail */
};

struct cr_index {
	struct table v4, v6;
	uint32_t *pool;
	uint32_t npool;
	/* Candidates for every IP destination, and for every unix one. */
	uint32_t ip_off, ip_n, unix_off, unix_n;
	struct path_entry *paths;
	uint32_t npaths_cap;
	bool exact_paths;      /* some key is a whole path */
	uint64_t folder_depths; /* bit d: some folder key has d slashes (63: more) */
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

/* Bits 0.. of a key of `bits` bits, as a 128-bit number. */
static unsigned __int128 key_value(struct key k)
{
	return (unsigned __int128)k.hi << 64 | k.lo;
}

static uint32_t bucket_of(unsigned __int128 v, unsigned bits, unsigned skip, unsigned bucket_bits)
{
	v <<= 128 - bits + skip; /* drop the shared leading bits */
	return (uint32_t)(v >> (128 - bucket_bits));
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
	/* Group identical prefixes into nodes; their rules, sorted, to the pool. */
	uint32_t nb = 0, nnodes = 0;
	bounds[nb++] = (struct key){ 0, 0 };
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
		bounds[nb++] = nd->start;
		if (!last)
			bounds[nb++] = key_next(nd->end);
		nnodes++;
		i = j;
	}
	if (pool->failed)
		goto out;
	/* Parents (the nodes come sorted by start, enclosing ones first), and
	 * each node's list, written after its parent's. */
	uint32_t depth = 0;
	for (uint32_t i = 0; i < nnodes; i++) {
		struct node *nd = &nodes[i];
		while (depth && key_cmp(nodes[stack[depth - 1]].end, nd->start) < 0)
			depth--;
		nd->parent = depth ? stack[depth - 1] : -1;
		stack[depth++] = (int32_t)i;
		lists[i] = write_list(pool, nd, nd->parent >= 0 ? lists[nd->parent] : LIST_NONE);
	}
	if (pool->failed)
		goto out;
	/* Elementary intervals, and the list of the deepest node covering each. */
	if (!radix_sort(bounds, nb, sizeof *bounds, bits / 8, bound_byte))
		goto out;
	uint32_t m = 0;
	for (uint32_t i = 0; i < nb; i++)
		if (m == 0 || key_cmp(bounds[m - 1], bounds[i]) != 0)
			bounds[m++] = bounds[i];
	t->n = m;
	if (m >= 2) {
		t->first = bounds[1];
		t->last = bounds[m - 1];
	}
	if (bits == 32)
		t->v4 = malloc(m * sizeof *t->v4);
	else
		t->v6 = malloc(m * sizeof *t->v6);
	if (!t->v4 && !t->v6)
		goto out;
	uint32_t nlo = 1;
	if (t->v6 && !(t->lo6 = malloc((m + 1) * sizeof *t->lo6)))
		goto out;
	depth = 0;
	uint32_t next = 0;
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
	/* The first-level table, over the intervals 1 .. m-1 (interval 0 starts
	 * at address 0, below every other). About one bucket an interval. */
	if (m > 2) {
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
			goto out;
		uint32_t i = 1;
		for (uint32_t b = 0; b <= (1u << bb); b++) {
			while (i < m - 1 && bucket_of(key_value(bounds[i]), bits, skip, bb) < b)
				i++;
			t->bucket[b] = i;
		}
		t->bucket[1u << bb] = m - 1;
	}
	ok = true;
out:
	free(nodes);
	free(bounds);
	free(stack);
	free(lists);
	return ok;
}

/* A path key's hash: eight bytes at a time (the look-up hashes a folder
 * prefix of every unix destination, so this is on the hot path). */
static uint64_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ n;
	for (; n >= 8; s += 8, n -= 8) {
		uint64_t w;
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
		h ^= h >> 29;
	}
	if (n) {
		uint64_t w = 0;
		memcpy(&w, s, n);
		h = (h ^ w) * 0x94d049bb133111ebULL;
	}
	return h ^ (h >> 32);
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
	ix->paths = cr_big_calloc(ix->npaths_cap * sizeof *ix->paths);
	if (!ix->paths)
		goto fail_lists;
	for (size_t i = 0; i < kp;) {
		size_t j = i;
		struct path_entry *e = path_slot(ix, pi[i].key, strlen(pi[i].key));
		e->key = pi[i].key;
		if (e->key[0] == '=') {
			ix->exact_paths = true;
		} else {
			unsigned slashes = 0;
			for (const char *q = e->key; *q; q++)
				slashes += *q == '/';
			ix->folder_depths |= 1ULL << (slashes < 63 ? slashes : 63);
		}
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
		if (e->n == 1) { /* the rule itself, not its place in the pool */
			e->off = pool.v[--pool.n];
			/* Only a rule's only pattern made this key: then the
			 * pattern is the key and its tail. */
			const struct cr_rule *r = &rs->rules[e->off];
			const char *tail = r->npaths != 1 ? NULL : e->key[0] == '=' ? "" : r->paths[0] + e->len;
			size_t tl = tail ? strlen(tail) : 0;
			if (tail && e->len + 1 + tl + 1 <= PATH_INLINE) {
				memcpy(e->head + e->len + 1, tail, tl + 1);
				e->tail = (uint8_t)(e->len + 2);
			}
		}
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
	ix->bytes = sizeof *ix + pool.n * sizeof(uint32_t) + ix->v4.n * sizeof(struct ival4) +
		    ix->v6.n * sizeof(struct ival6) + ix->npaths_cap * sizeof *ix->paths;
	for (int f = 0; f < 2; f++) {
		const struct table *t = f ? &ix->v6 : &ix->v4;
		if (t->bucket)
			ix->bytes += ((1u << t->bucket_bits) + 1) * sizeof *t->bucket;
	}
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
		free(ts[i]->v4);
		free(ts[i]->v6);
		free(ts[i]->lo6);
		free(ts[i]->bucket);
	}
	if (ix->paths)
		for (uint32_t i = 0; i < ix->npaths_cap; i++)
			free(ix->paths[i].key);
	cr_big_free(ix->paths);
	free(ix->pool);
	free(ix);
}

size_t cr_index_size(const struct cr_index *ix)
{
	return ix ? ix->bytes : 0;
}

/* ---- look-up ---- */

/* A list of n rules at off in the pool (which is NULL when no rule has a key). */
static void add(struct cr_candidates *c, const struct cr_index *ix, uint32_t off, uint32_t n, bool key_matched)
{
	if (n && c->n < CR_INDEX_MAX_LISTS) {
		c->list[c->n] = ix->pool + off;
		c->key_matched[c->n] = key_matched;
		c->len[c->n++] = n;
	} else if (n) {
		c->overflow = true;
	}
}

/* The candidates of a list value (see LIST_ONE), following its links. */
static void add_list(struct cr_candidates *c, const struct cr_index *ix, uint32_t list, bool key_matched)
{
	while (list != LIST_NONE) {
		if (list & LIST_ONE) {
			if (c->n < CR_INDEX_MAX_LISTS) {
				c->one[c->n] = list & ~LIST_ONE;
				c->list[c->n] = &c->one[c->n];
				c->len[c->n] = 1;
				c->key_matched[c->n++] = key_matched;
			} else {
				c->overflow = true;
			}
			return;
		}
		add(c, ix, list + 2, ix->pool[list], key_matched);
		list = ix->pool[list + 1];
	}
}

/* The interval holding k: the last whose start is at or before it. The
 * bucket of k bounds the search to the intervals that start in it. */
static uint32_t find4(const struct table *t, uint32_t k)
{
	const struct ival4 *iv = t->v4;
	if (t->n < 2 || k < t->first.lo)
		return 0;
	if (k >= t->last.lo)
		return t->n - 1;
	uint32_t b = bucket_of(k, 32, t->skip, t->bucket_bits);
	uint32_t lo = t->bucket[b] - 1, hi = t->bucket[b + 1];
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (iv[mid].start <= k)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

static bool ival6_le(const struct table *t, const struct ival6 *iv, struct key k)
{
	return iv->hi < k.hi || (iv->hi == k.hi && (iv->lo_ref ? t->lo6[iv->lo_ref] : 0) <= k.lo);
}

static uint32_t find6(const struct table *t, struct key k)
{
	const struct ival6 *iv = t->v6;
	if (t->n < 2 || key_cmp(k, t->first) < 0)
		return 0;
	if (key_cmp(k, t->last) >= 0)
		return t->n - 1;
	uint32_t b = bucket_of(key_value(k), 128, t->skip, t->bucket_bits);
	uint32_t lo = t->bucket[b] - 1, hi = t->bucket[b + 1];
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (ival6_le(t, &iv[mid], k))
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* rest: what follows the key in the destination's path. */
static void lookup_path(const struct cr_index *ix, uint64_t h, const char *key, size_t n, const char *rest,
			size_t restlen, struct cr_candidates *c)
{
	uint32_t mask = ix->npaths_cap - 1, i = (uint32_t)h & mask;
	for (; ix->paths[i].key; i = (i + 1) & mask) {
		const struct path_entry *e = &ix->paths[i];
		if (e->hash == h && e->len == n &&
		    (n <= PATH_INLINE ? memcmp(e->head, key, n) == 0 : memcmp(e->key, key, n) == 0)) {
			if (e->tail) {
				/* The rule's only pattern: settled here. */
				if (cr_glob_match(e->head + e->tail - 1, rest, restlen, CR_GLOB_PATHNAME))
					add_list(c, ix, LIST_ONE | e->off, true);
			} else if (e->n == 1)
				add_list(c, ix, LIST_ONE | e->off, false);
			else
				add(c, ix, e->off, e->n, false);
			return;
		}
	}
}

void cr_index_candidates(const struct cr_index *ix, const struct cr_dest *d, struct cr_candidates *c)
{
	c->n = 0;
	c->overflow = false;
	if (d->family == CR_FAM_INET || d->family == CR_FAM_INET6) {
		add(c, ix, ix->ip_off, ix->ip_n, false);
		if (d->family == CR_FAM_INET && ix->v4.n) {
			uint32_t k = (uint32_t)d->addr[0] << 24 | (uint32_t)d->addr[1] << 16 | (uint32_t)d->addr[2] << 8 |
				     d->addr[3];
			add_list(c, ix, ix->v4.v4[find4(&ix->v4, k)].list, true);
		} else if (d->family == CR_FAM_INET6 && ix->v6.n) {
			add_list(c, ix, ix->v6.v6[find6(&ix->v6, key_of(d->addr, true))].list, true);
		}
		return;
	}
	if (d->family != CR_FAM_UNIX)
		return;
	add(c, ix, ix->unix_off, ix->unix_n, false);
	if (!ix->npaths_cap || d->path_len == 0)
		return;
	/* The exact path, then every folder it lies in; the folders' hashes
	 * grow along the path, one pass. */
	if (ix->exact_paths) {
		char key[sizeof d->path + 2];
		key[0] = '=';
		memcpy(key + 1, d->path, d->path_len);
		lookup_path(ix, hash_bytes(key, (size_t)d->path_len + 1), key, (size_t)d->path_len + 1, "", 0, c);
	}
	/* Every folder the path lies in, at the depths some folder key has. */
	unsigned slashes = 0;
	for (size_t i = 0; i < d->path_len; i++)
		if (d->path[i] == '/' && (ix->folder_depths >> (++slashes < 63 ? slashes : 63) & 1))
			lookup_path(ix, hash_bytes(d->path, i + 1), d->path, i + 1, d->path + i + 1, d->path_len - i - 1,
				    c);
}
