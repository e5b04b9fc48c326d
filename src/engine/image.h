/* The rule image: the one form decisions read (rules.h), made in memory
 * from a text file or mapped from a compiled one.
 *
 * Layout: a 64-byte header, a table of sections, then the sections, each
 * 64-byte aligned. The header holds a magic number, the format version, a
 * layout tag (byte order, sizes: a file from another architecture is
 * refused by name), the hash of the source text, and two checksums: of the
 * section table (checked by every load) and of the whole file (checked by
 * `connrefuse check`: a load reads only the pages a decision touches, and
 * touched shared pages count in full in a process's RSS). */
#ifndef CR_IMAGE_H
#define CR_IMAGE_H

#include "bigmem.h"
#include "rules.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CR_IMAGE_MAGIC "CRRULES\x1a"
#define CR_IMAGE_VERSION 4
/* Format 1 lacks the path tags (CR_SEC_IX_PATH_TAGS) alone, and is read as
 * it was: its look-ups probe the path slots themselves. Formats 1 and 2
 * lack the faults after connect (CR_SEC_FAULTS), which no rule of theirs
 * has; format 3 is refused by older readers, which would read its reset,
 * close and stall rules as "pass". Format 4 adds the shaping
 * (CR_SEC_SHAPES); format 3 is read as it was (no rule shapes), and older
 * readers refuse format 4, which would read a pass that shapes as a plain
 * pass. */
#define CR_IMAGE_VERSION_MIN 1
/* The largest compiled file a process maps. */
#define CR_IMAGE_MAX_BYTES (4ull << 30)

enum cr_section {
	CR_SEC_META = 1,
	CR_SEC_RULES,
	CR_SEC_SCHEDS,
	CR_SEC_STRINGS,
	CR_SEC_PREFIXES,
	CR_SEC_PORTS,
	CR_SEC_REFS,
	CR_SEC_PATTERNS,
	CR_SEC_RESOLVERS,
	CR_SEC_LINES,
	CR_SEC_CONTINUE,
	CR_SEC_IX_META,
	CR_SEC_IX_V4,
	CR_SEC_IX_V4_BUCKETS,
	CR_SEC_IX_V6,
	CR_SEC_IX_V6_LO,
	CR_SEC_IX_V6_BUCKETS,
	CR_SEC_IX_POOL,
	CR_SEC_IX_PATHS,
	CR_SEC_IX_KEYS,
	CR_SEC_IX_PATH_TAGS,
	CR_SEC_FAULTS,
	CR_SEC_SHAPES,
	CR_SEC_END
};

struct cr_image_header {
	char magic[8];
	uint32_t version;
	uint32_t layout; /* CR_IMAGE_LAYOUT of the machine that wrote it */
	uint64_t file_size;
	uint64_t source_hash; /* of the source text */
	uint32_t nsections;
	uint32_t reserved;
	uint64_t table_sum; /* of the section table */
	uint64_t file_sum;  /* of every byte after the header */
	uint64_t reserved2;
};
_Static_assert(sizeof(struct cr_image_header) == 64, "the header is 64 bytes");

struct cr_image_section {
	uint32_t id;           /* enum cr_section */
	uint32_t elem_size;    /* the record size the reader expects */
	uint64_t offset, size; /* bytes, from the file's start */
};

/* The settings (CR_SEC_META). */
struct cr_image_meta {
	uint64_t seed;
	uint32_t source;              /* strings: the source file's name */
	uint32_t log_ident, log_file; /* strings */
	int32_t log_facility, log_level;
	uint32_t log_rate;
	uint8_t seeded, default_action, dry_run, needs_sotype, needs_clock, needs_host;
	uint8_t log_syslog, log_to_stderr, log_json, reserved;
	/* strings: relay.socket. In bytes that were reserved (zero: "") in
	 * format 3, so no new format: a reader that predates it finds no
	 * socket, and says so at a fault's connect (the connection passes). */
	uint32_t relay_socket;
};
_Static_assert(sizeof(struct cr_image_meta) == 48, "the settings keep their size");

/* Builds the image of a draft (its matcher index included) in new memory,
 * released with cr_image_release. NULL when memory is out. */
void *cr_image_build(const struct cr_draft *d, uint64_t source_hash, size_t *len);
/* (Inline: a rule set frees the image it owns without calling back into
 * the image code.) */
static inline void cr_image_release(void *image, size_t len)
{
	(void)len;
	cr_big_free(image);
}

/* A rule set over an image already in memory: the header and section table
 * are checked, never every page. owned: the set frees the image (as built
 * by cr_image_build); mapped: it unmaps it. NULL with a message in err. */
enum cr_image_owner { CR_IMAGE_BORROWED, CR_IMAGE_OWNED, CR_IMAGE_MAPPED };
struct cr_ruleset *cr_image_open(const void *image, size_t len, enum cr_image_owner owner, const char *name, char *err,
				 size_t errsize);
/* Whether the bytes begin like an image (any version). */
bool cr_image_is(const void *bytes, size_t len);
/* Checks the whole-file checksum; -1 with a message in err. */
int cr_image_verify(const struct cr_ruleset *rs, char *err, size_t errsize);
/* Writes an image to path atomically: a new file beside it, then rename.
 * keep_previous: the file it replaces stays linked as PATH.previous (what
 * `compile` does for files that running programs map). */
int cr_image_write(const void *image, size_t len, const char *path, bool keep_previous, char *err, size_t errsize);

/* The 64-bit hash used for checksums and source identity. */
uint64_t cr_image_hash(const void *data, size_t len, uint64_t seed);

#endif
