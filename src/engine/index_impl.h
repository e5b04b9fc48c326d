/* The index's layout, shared by its builder (index_build.c) and its
 * look-up (index_lookup.c); nothing else includes this. */
#ifndef CR_INDEX_IMPL_H
#define CR_INDEX_IMPL_H

#include "index.h"

#include <endian.h>
#include <string.h>

/* A 128-bit address key; IPv4 uses lo only. */
struct key {
	uint64_t hi, lo;
};

static inline int key_cmp(struct key a, struct key b)
{
	if (a.hi != b.hi)
		return a.hi < b.hi ? -1 : 1;
	if (a.lo != b.lo)
		return a.lo < b.lo ? -1 : 1;
	return 0;
}

static inline struct key key_of(const uint8_t *addr, bool v6)
{
	struct key k = { 0, 0 };
	if (!v6) {
		k.lo = (uint64_t)addr[0] << 24 | (uint64_t)addr[1] << 16 | (uint64_t)addr[2] << 8 | addr[3];
		return k;
	}
	memcpy(&k.hi, addr, 8);
	memcpy(&k.lo, addr + 8, 8);
	k.hi = be64toh(k.hi); /* network order: the first byte is the most significant */
	k.lo = be64toh(k.lo);
	return k;
}

/* Bits 0.. of a key of `bits` bits, as a 128-bit number. */
static inline unsigned __int128 key_value(struct key k)
{
	return (unsigned __int128)k.hi << 64 | k.lo;
}

static inline uint32_t bucket_of(unsigned __int128 v, unsigned bits, unsigned skip, unsigned bucket_bits)
{
	v <<= 128 - bits + skip; /* drop the shared leading bits */
	return (uint32_t)(v >> (128 - bucket_bits));
}

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
	uint64_t *lo6;    /* the nonzero low halves of IPv6 starts (entry 0 unused) */
	uint32_t *bucket; /* (1 << bucket_bits) + 1 entries, when n > 2 */
	uint32_t nlo6;
};

/* One cache line a key: a look-up that finds a short key reads nothing else.
 * When the key belongs to one rule with one pattern, the rest of that
 * pattern after the key (its tail: "*.sock" of "/run/" "*.sock") is kept
 * in the line too, so that the look-up settles the path itself and the
 * decision never reads the pattern. */
#define PATH_INLINE 35
/* In tail: the tail is '*' and then a literal ("*.sock"), settled by one
 * comparison at the path's end (format 2; format 1 never sets it). */
#define TAIL_STAR_LITERAL 0x80
struct path_entry {
	uint64_t hash;
	uint32_t key;           /* in keys: "=/exact/path" or "/folder/" */
	uint32_t len;           /* 0: a free slot */
	uint32_t off, n;        /* the rules, in the pool; or, when n is 1, off is the rule */
	uint8_t tail;           /* 1 + where the tail starts in head; 0: none; | TAIL_STAR_LITERAL */
	char head[PATH_INLINE]; /* the key's first bytes, then the tail */
};

/* One byte a path slot, in a table of its own: 0 for a free slot, else a
 * few bits of its key's hash (path_tag). A look-up reads eight tags at
 * once and opens only the slots whose tag is its own: one small line for
 * a path that no key holds, rather than a 64-byte slot at each probe. The
 * first eight tags are repeated past the end, so that eight can be read
 * from any slot on. */
#define PATH_TAGS_PAD 8
static inline uint8_t path_tag(uint64_t hash)
{
	return (uint8_t)(1 + (hash >> 56) % 255);
}

/* The index: as built (owning its tables), or as a view of an image's
 * sections (image.c checks every count against the image; the look-up
 * checks every offset it follows). */
struct cr_index {
	struct table v4, v6;
	uint32_t *pool;
	uint32_t npool;
	/* Candidates for every IP destination, and for every unix one. */
	uint32_t ip_off, ip_n, unix_off, unix_n;
	struct path_entry *paths;
	uint32_t npaths_cap; /* a power of two, or 0 */
	uint8_t *path_tags;  /* npaths_cap + PATH_TAGS_PAD, or NULL (a format 1 image) */
	char *keys;          /* the path keys, each NUL-terminated */
	uint32_t nkeys;
	bool exact_paths;       /* some key is a whole path */
	uint64_t folder_depths; /* bit d: some folder key has d slashes (63: more) */
	size_t bytes;
};

/* The index's scalars, as an image holds them (CR_SEC_IX_META). */
struct cr_index_meta {
	struct {
		uint32_t n, skip, bucket_bits, reserved;
		struct key first, last;
	} t[2]; /* v4, v6 */
	uint32_t ip_off, ip_n, unix_off, unix_n;
	uint32_t npaths_cap, exact_paths;
	uint64_t folder_depths;
};

/* A path key's hash: eight bytes at a time (the look-up hashes a folder
 * prefix of every unix destination, so this is on the hot path). */
static inline uint64_t hash_bytes(const char *s, size_t n)
{
	const size_t len = n;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ n;
	for (; n >= 8; s += 8, n -= 8) {
		uint64_t w;
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
		h ^= h >> 29;
	}
	if (n) {
		uint64_t w = 0;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		if (len >= 8) {
			/* The same bytes, as one load of the last eight (a short
			 * memcpy of variable length is a byte loop). */
			memcpy(&w, s + n - 8, 8);
			w >>= 64 - 8 * n;
		} else
#endif
			memcpy(&w, s, n);
		h = (h ^ w) * 0x94d049bb133111ebULL;
	}
	return h ^ (h >> 32);
}

#endif
