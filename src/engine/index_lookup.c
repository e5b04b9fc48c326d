/* The rule index's look-up (index.h): on the hot path of every connect.
 * The index may be a view of an untrusted image: every offset read from it
 * is checked before it is followed, and every walk is bounded. A rule
 * number is checked by the decision, which knows the rule count. */
#include "index_impl.h"
#include "rules_impl.h"
#include "glob.h"

/* A list of n rules at off in the pool (which is NULL when no rule has a key). */
static CR_HOT void add(struct cr_candidates *c, const struct cr_index *ix, uint32_t off, uint32_t n, bool key_matched)
{
	if (off > ix->npool || n > ix->npool - off)
		n = 0;
	if (n && c->n < CR_INDEX_MAX_LISTS) {
		c->list[c->n] = ix->pool + off;
		c->key_matched[c->n] = key_matched;
		c->len[c->n++] = n;
	} else if (n) {
		c->overflow = true;
	}
}

/* The candidates of a list value (see LIST_ONE), following its links. */
static CR_HOT void add_list(struct cr_candidates *c, const struct cr_index *ix, uint32_t list, bool key_matched)
{
	for (unsigned links = 0; list != LIST_NONE; links++) {
		if (links == CR_INDEX_MAX_LISTS) {
			c->overflow = true; /* a cycle in a corrupt image, or a very deep nest */
			return;
		}
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
		if (ix->npool < 2 || list > ix->npool - 2)
			return;
		add(c, ix, list + 2, CR_ONCE(ix->pool[list]), key_matched);
		list = CR_ONCE(ix->pool[list + 1]);
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
	uint32_t lo = CR_ONCE(t->bucket[b]) - 1, hi = CR_ONCE(t->bucket[b + 1]);
	if (lo >= hi || hi >= t->n)
		return 0; /* only a corrupt image */
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
	uint32_t ref = CR_ONCE(iv->lo_ref);
	return iv->hi < k.hi || (iv->hi == k.hi && (ref && ref < t->nlo6 ? t->lo6[ref] : 0) <= k.lo);
}

static uint32_t find6(const struct table *t, struct key k)
{
	const struct ival6 *iv = t->v6;
	if (t->n < 2 || key_cmp(k, t->first) < 0)
		return 0;
	if (key_cmp(k, t->last) >= 0)
		return t->n - 1;
	uint32_t b = bucket_of(key_value(k), 128, t->skip, t->bucket_bits);
	uint32_t lo = CR_ONCE(t->bucket[b]) - 1, hi = CR_ONCE(t->bucket[b + 1]);
	if (lo >= hi || hi >= t->n)
		return 0; /* only a corrupt image */
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (ival6_le(t, &iv[mid], k))
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* The high bit of each byte of w that equals b. */
static inline uint64_t bytes_equal(uint64_t w, uint8_t b)
{
	const uint64_t low7 = 0x7f7f7f7f7f7f7f7fULL;
	uint64_t x = w ^ (0x0101010101010101ULL * b); /* zero where a byte is b */
	return ~(((x & low7) + low7) | x | low7);     /* exact: no borrow between bytes */
}

/* The '/' bytes among s[base .. min(base + 8, len)), as the high bit of
 * each byte of a mask (byte i of the mask is s[base + i]). s holds size
 * bytes, len of them the path. */
static inline uint64_t slash_bytes(const char *s, size_t size, size_t base, size_t len)
{
	uint64_t w = 0;
	size_t take = len - base < 8 ? len - base : 8;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (base + 8 <= size)
		memcpy(&w, s + base, 8);
	else if (size >= 8)
		memcpy(&w, s + size - 8, 8), w >>= 8 * (base + 8 - size);
	else
#endif
		for (size_t i = 0; i < take; i++)
			w |= (uint64_t)(unsigned char)s[base + i] << 8 * i;
	uint64_t slashes = bytes_equal(w, '/');
	return take == 8 ? slashes : slashes & ((1ULL << 8 * take) - 1);
}

/* Does slot e hold the key (of hash h, n bytes)? */
static inline bool holds(const struct cr_index *ix, const struct path_entry *e, uint64_t h, const char *key, size_t n)
{
	uint32_t kat = CR_ONCE(e->key);
	return e->hash == h && CR_ONCE(e->len) == n &&
	       (n <= PATH_INLINE ? memcmp(e->head, key, n) == 0
				 : kat < ix->nkeys && n <= ix->nkeys - kat && memcmp(ix->keys + kat, key, n) == 0);
}

/* The slot holding the key, or NULL: probing slot by slot (a format 1
 * image, which has no tags). */
static const struct path_entry *find_slot(const struct cr_index *ix, uint64_t h, const char *key, size_t n)
{
	uint32_t mask = ix->npaths_cap - 1, i = (uint32_t)h & mask;
	for (uint32_t probes = 0; probes < ix->npaths_cap && CR_ONCE(ix->paths[i].len); i = (i + 1) & mask, probes++)
		if (holds(ix, &ix->paths[i], h, key, n))
			return &ix->paths[i];
	return NULL;
}

/* The same, reading the tags, eight slots' at once, up to a free slot. */
static CR_HOT const struct path_entry *find_slot_tagged(const struct cr_index *ix, uint64_t h, const char *key,
							size_t n)
{
	const uint8_t want = path_tag(h);
	uint32_t mask = ix->npaths_cap - 1, i = (uint32_t)h & mask;
	for (uint32_t probes = 0; probes < ix->npaths_cap; i = (i + 8) & mask, probes += 8) {
		uint64_t w;
		memcpy(&w, ix->path_tags + i, 8); /* in bounds: the tags are padded */
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
		w = __builtin_bswap64(w); /* byte k of the tags as byte k of the masks */
#endif
		uint64_t empty = bytes_equal(w, 0), mine = bytes_equal(w, want);
		if (empty)
			mine &= (empty & -empty) - 1; /* the slots before the first free one */
		for (; mine; mine &= mine - 1) {
			const struct path_entry *e = &ix->paths[(i + (uint32_t)__builtin_ctzll(mine) / 8) & mask];
			if (holds(ix, e, h, key, n))
				return e;
		}
		if (empty)
			return NULL;
	}
	return NULL;
}

/* rest: what follows the key in the destination's path. */
static CR_HOT void lookup_path(const struct cr_index *ix, uint64_t h, const char *key, size_t n, const char *rest,
			       size_t restlen, struct cr_candidates *c)
{
	const struct path_entry *e = ix->path_tags ? find_slot_tagged(ix, h, key, n) : find_slot(ix, h, key, n);
	if (!e)
		return;
	uint32_t off = CR_ONCE(e->off), count = CR_ONCE(e->n);
	uint8_t tail = CR_ONCE(e->tail), at = tail & ~TAIL_STAR_LITERAL;
	if (at && at <= PATH_INLINE && CR_ONCE(e->head[PATH_INLINE - 1]) == '\0') {
		/* The rule's only pattern: settled here. */
		const char *pattern = e->head + at - 1;
		if (tail & TAIL_STAR_LITERAL
			    ? cr_glob_star_literal(pattern + 1, strlen(pattern + 1), rest, restlen, CR_GLOB_PATHNAME)
			    : cr_glob_match(pattern, rest, restlen, CR_GLOB_PATHNAME))
			add_list(c, ix, LIST_ONE | off, true);
	} else if (count == 1) {
		add_list(c, ix, LIST_ONE | off, false);
	} else {
		add(c, ix, off, count, false);
	}
}

void cr_index_candidates(const struct cr_index *ix, const struct cr_dest *d, struct cr_candidates *c)
{
	c->n = 0;
	c->overflow = false;
	if (d->family == CR_FAM_INET || d->family == CR_FAM_INET6) {
		add(c, ix, ix->ip_off, ix->ip_n, false);
		if (d->family == CR_FAM_INET && ix->v4.n) {
			uint32_t k = (uint32_t)d->addr[0] << 24 | (uint32_t)d->addr[1] << 16 |
				     (uint32_t)d->addr[2] << 8 | d->addr[3];
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
	/* The exact path, then every folder it lies in. */
	if (ix->exact_paths) {
		char key[sizeof d->path + 2];
		key[0] = '=';
		memcpy(key + 1, d->path, d->path_len);
		lookup_path(ix, hash_bytes(key, (size_t)d->path_len + 1), key, (size_t)d->path_len + 1, "", 0, c);
	}
	/* Every folder the path lies in, at the depths some folder key has
	 * (slash to slash, and no further than the deepest of them). */
	const char *path = d->path;
	const size_t len = d->path_len < sizeof d->path ? d->path_len : sizeof d->path;
	/* Bit 0 of want: the next slash's depth has keys. Bit 63 of the
	 * depths stands for 63 and deeper: once it is the last, it stays. */
	const bool deeper = ix->folder_depths >> 63;
	uint64_t want = ix->folder_depths >> 1;
	/* Eight bytes at a time: the slashes of a word are the bits of a mask. */
	for (size_t base = 0; base < len && want; base += 8) {
		for (uint64_t slashes = slash_bytes(path, sizeof d->path, base, len); slashes; slashes &= slashes - 1) {
			size_t n = base + (size_t)__builtin_ctzll(slashes) / 8 + 1; /* the folder, its slash included */
			if (want & 1)
				lookup_path(ix, hash_bytes(path, n), path, n, path + n, len - n, c);
			if (want != 1 || !deeper)
				want >>= 1;
			if (!want)
				return;
		}
	}
}
