/* The rule image (image.h): opened as a rule set (every count and offset
 * of the header and section table checked), verified, turned back into a
 * draft. Building and writing one: image_build.c. */
#define _GNU_SOURCE
#include "image_impl.h"
#include "sys.h"
#include "clock.h"
#include "index_impl.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

uint64_t cr_image_hash(const void *data, size_t len, uint64_t seed)
{
	/* Four lanes of 8 bytes: about 8 GB/s here, so that `check` of a
	 * 100 MB image takes a blink. */
	const unsigned char *p = data;
	uint64_t h[4] = { seed ^ 0x9e3779b97f4a7c15ULL, seed ^ 0xbf58476d1ce4e5b9ULL, seed ^ 0x94d049bb133111ebULL,
			  seed ^ len };
	size_t i = 0;
	for (; i + 32 <= len; i += 32)
		for (int k = 0; k < 4; k++) {
			uint64_t w;
			memcpy(&w, p + i + 8 * k, 8);
			h[k] = (h[k] ^ w) * 0xff51afd7ed558ccdULL;
			h[k] ^= h[k] >> 32;
		}
	uint64_t r = h[0] ^ (h[1] * 3) ^ (h[2] * 5) ^ (h[3] * 7);
	for (; i < len; i++)
		r = (r ^ p[i]) * 0x100000001b3ULL;
	r ^= r >> 33;
	r *= 0xc4ceb9fe1a85ec53ULL;
	return r ^ (r >> 29);
}

bool cr_image_is(const void *bytes, size_t len)
{
	return len >= 8 && memcmp(bytes, CR_IMAGE_MAGIC, 8) == 0;
}

/* ---- opening ---- */

static const struct {
	uint32_t elem_size;
	bool required;
} section_kinds[CR_SEC_END] = {
	[CR_SEC_META] = { sizeof(struct cr_image_meta), true },
	[CR_SEC_RULES] = { sizeof(struct cr_rule), false },
	[CR_SEC_SCHEDS] = { sizeof(struct cr_sched), false },
	[CR_SEC_STRINGS] = { 1, true },
	[CR_SEC_PREFIXES] = { sizeof(struct cr_prefix), false },
	[CR_SEC_PORTS] = { sizeof(struct cr_port_range), false },
	[CR_SEC_REFS] = { 4, false },
	[CR_SEC_PATTERNS] = { 4, false },
	[CR_SEC_RESOLVERS] = { 4, false },
	[CR_SEC_LINES] = { 4, false },
	[CR_SEC_CONTINUE] = { sizeof(struct cr_continue), false },
	[CR_SEC_IX_META] = { sizeof(struct cr_index_meta), false },
	[CR_SEC_IX_V4] = { sizeof(struct ival4), false },
	[CR_SEC_IX_V4_BUCKETS] = { 4, false },
	[CR_SEC_IX_V6] = { sizeof(struct ival6), false },
	[CR_SEC_IX_V6_LO] = { 8, false },
	[CR_SEC_IX_V6_BUCKETS] = { 4, false },
	[CR_SEC_IX_POOL] = { 4, false },
	[CR_SEC_IX_PATHS] = { sizeof(struct path_entry), false },
	[CR_SEC_IX_KEYS] = { 1, false },
	[CR_SEC_IX_PATH_TAGS] = { 1, false },
	[CR_SEC_FAULTS] = { sizeof(struct cr_fault_rec), false },
	[CR_SEC_SHAPES] = { sizeof(struct cr_shape_rec), false },
};

struct found {
	const void *at[CR_SEC_END];
	uint32_t count[CR_SEC_END];
};

static int bad(char *err, size_t errsize, const char *name, const char *what)
{
	snprintf(err, errsize, "%s: %s", name, what);
	return -1;
}

/* The header and the section table, every count and offset checked. */
static int read_table(const char *img, size_t len, const char *name, struct found *f, char *err, size_t errsize)
{
	const struct cr_image_header *h = (const void *)img;
	char why[200];
	if (len < sizeof *h || !cr_image_is(img, len))
		return bad(err, errsize, name, "is not a compiled rules file (no header): truncated, or not one");
	if (h->version < CR_IMAGE_VERSION_MIN || h->version > CR_IMAGE_VERSION) {
		snprintf(why, sizeof why,
			 "is a compiled rules file of format %u; this connrefuse reads formats %u to %u: "
			 "compile it again from its source with this version",
			 h->version, CR_IMAGE_VERSION_MIN, CR_IMAGE_VERSION);
		return bad(err, errsize, name, why);
	}
	if (h->layout != CR_IMAGE_LAYOUT)
		return bad(err, errsize, name,
			   "was compiled on another kind of machine (byte order or word size): "
			   "compile it again on this one");
	if (h->file_size != len) {
		snprintf(why, sizeof why,
			 "has %zu bytes where its header says %llu: %s; compile it again (and replace "
			 "it only by renaming a new file over it)",
			 len, (unsigned long long)h->file_size,
			 len < h->file_size ? "truncated" : "something was appended");
		return bad(err, errsize, name, why);
	}
	if (h->nsections > 64 || sizeof *h + (size_t)h->nsections * sizeof(struct cr_image_section) > len)
		return bad(err, errsize, name,
			   "has a corrupt header (its section table does not fit): compile it again");
	const struct cr_image_section *t = (const void *)(img + sizeof *h);
	if (cr_image_hash(t, h->nsections * sizeof *t, h->file_size) != h->table_sum)
		return bad(err, errsize, name, "has a corrupt section table (checksum): compile it again");
	memset(f, 0, sizeof *f);
	for (uint32_t i = 0; i < h->nsections; i++) {
		uint32_t id = t[i].id;
		if (id == 0 || id >= CR_SEC_END || f->at[id] || t[i].elem_size != section_kinds[id].elem_size ||
		    t[i].offset % ALIGN || t[i].offset > len || t[i].size > len - t[i].offset ||
		    t[i].size % t[i].elem_size || t[i].size / t[i].elem_size > UINT32_MAX) {
			snprintf(why, sizeof why, "has a corrupt section table (section %u of %u): compile it again",
				 i + 1, h->nsections);
			return bad(err, errsize, name, why);
		}
		f->at[id] = img + t[i].offset;
		f->count[id] = (uint32_t)(t[i].size / t[i].elem_size);
	}
	for (uint32_t id = 1; id < CR_SEC_END; id++)
		if (section_kinds[id].required && !f->count[id])
			return bad(err, errsize, name, "lacks a section every compiled file has: compile it again");
	if (f->count[CR_SEC_META] != 1 || ((const char *)f->at[CR_SEC_STRINGS])[f->count[CR_SEC_STRINGS] - 1] != '\0')
		return bad(err, errsize, name, "has a corrupt section (settings or strings): compile it again");
	return 0;
}

/* The index as a view of the image's sections; NULL when it has none. */
static int index_view(struct cr_index *ix, const struct found *f, const char *name, char *err, size_t errsize)
{
	const struct cr_index_meta *m = f->at[CR_SEC_IX_META];
	memset(ix, 0, sizeof *ix);
	ix->ip_off = m->ip_off;
	ix->ip_n = m->ip_n;
	ix->unix_off = m->unix_off;
	ix->unix_n = m->unix_n;
	ix->pool = (uint32_t *)f->at[CR_SEC_IX_POOL];
	ix->npool = f->count[CR_SEC_IX_POOL];
	ix->paths = (struct path_entry *)f->at[CR_SEC_IX_PATHS];
	ix->npaths_cap = m->npaths_cap;
	ix->keys = (char *)f->at[CR_SEC_IX_KEYS];
	ix->nkeys = f->count[CR_SEC_IX_KEYS];
	ix->exact_paths = m->exact_paths;
	ix->folder_depths = m->folder_depths;
	if (ix->npaths_cap != f->count[CR_SEC_IX_PATHS] || (ix->npaths_cap & (ix->npaths_cap - 1)))
		return bad(err, errsize, name, "has a corrupt index (paths): compile it again");
	if (f->count[CR_SEC_IX_PATH_TAGS]) {
		if (f->count[CR_SEC_IX_PATH_TAGS] != ix->npaths_cap + PATH_TAGS_PAD)
			return bad(err, errsize, name, "has a corrupt index (path tags): compile it again");
		ix->path_tags = (uint8_t *)f->at[CR_SEC_IX_PATH_TAGS];
	}
	static const int ivals[2] = { CR_SEC_IX_V4, CR_SEC_IX_V6 },
			 buckets[2] = { CR_SEC_IX_V4_BUCKETS, CR_SEC_IX_V6_BUCKETS };
	for (int fam = 0; fam < 2; fam++) {
		struct table *t = fam ? &ix->v6 : &ix->v4;
		unsigned bits = fam ? 128 : 32;
		t->n = m->t[fam].n;
		t->skip = m->t[fam].skip;
		t->bucket_bits = m->t[fam].bucket_bits;
		t->first = m->t[fam].first;
		t->last = m->t[fam].last;
		t->bucket = (uint32_t *)f->at[buckets[fam]];
		if (fam) {
			t->v6 = (struct ival6 *)f->at[ivals[fam]];
			t->lo6 = (uint64_t *)f->at[CR_SEC_IX_V6_LO];
			t->nlo6 = f->count[CR_SEC_IX_V6_LO];
		} else {
			t->v4 = (struct ival4 *)f->at[ivals[fam]];
		}
		bool ok = t->n == f->count[ivals[fam]];
		if (t->n > 2)
			ok = ok && t->bucket_bits >= 1 && t->bucket_bits <= 24 && t->skip <= bits - t->bucket_bits &&
			     f->count[buckets[fam]] == (1u << t->bucket_bits) + 1;
		if (!ok)
			return bad(err, errsize, name, "has a corrupt index (address table): compile it again");
	}
	return 0;
}

/* The rule set's arrays as views of the image's sections. */
static void view_sections(struct cr_ruleset *rs, const struct found *f)
{
	rs->rules = f->at[CR_SEC_RULES];
	rs->nrules = f->count[CR_SEC_RULES];
	rs->scheds = f->at[CR_SEC_SCHEDS];
	rs->nscheds = f->count[CR_SEC_SCHEDS];
	rs->strings = f->at[CR_SEC_STRINGS];
	rs->nstrings = f->count[CR_SEC_STRINGS];
	rs->prefixes = f->at[CR_SEC_PREFIXES];
	rs->nprefixes = f->count[CR_SEC_PREFIXES];
	rs->ports = f->at[CR_SEC_PORTS];
	rs->nports = f->count[CR_SEC_PORTS];
	rs->refs = f->at[CR_SEC_REFS];
	rs->nrefs = f->count[CR_SEC_REFS];
	rs->patterns = f->at[CR_SEC_PATTERNS];
	rs->npatterns = f->count[CR_SEC_PATTERNS];
	rs->resolvers = f->at[CR_SEC_RESOLVERS];
	rs->nresolvers = f->count[CR_SEC_RESOLVERS];
	rs->lines = f->at[CR_SEC_LINES];
	rs->nlines = f->count[CR_SEC_LINES];
	rs->continues = f->at[CR_SEC_CONTINUE];
	rs->ncontinues = f->count[CR_SEC_CONTINUE];
	rs->faults = f->at[CR_SEC_FAULTS];
	rs->nfaults = f->count[CR_SEC_FAULTS];
	rs->shapes = f->at[CR_SEC_SHAPES];
	rs->nshapes = f->count[CR_SEC_SHAPES];
}

/* The settings of the image (its header h, its meta section m) in the rule
 * set; a value out of range is read as its default. */
static void apply_meta(struct cr_ruleset *rs, const struct cr_image_header *h, const struct cr_image_meta *m)
{
	rs->source_hash = h->source_hash;
	rs->format = h->version;
	rs->seed = m->seed;
	rs->seeded = m->seeded;
	rs->default_action = m->default_action <= CR_ACT_DROP ? (enum cr_action)m->default_action : CR_ACT_PASS;
	rs->dry_run = m->dry_run;
	rs->needs_sotype = m->needs_sotype;
	rs->needs_clock = m->needs_clock;
	rs->needs_host = m->needs_host;
	rs->log.syslog = m->log_syslog;
	rs->log.to_stderr = m->log_to_stderr;
	rs->log.json = m->log_json;
	rs->log.facility = m->log_facility;
	rs->log.level = m->log_level >= CR_LEVEL_NONE && m->log_level <= CR_LEVEL_ALL ? m->log_level
										      : CR_LEVEL_FAILURES;
	rs->log.rate = m->log_rate;
	snprintf(rs->log.ident, sizeof rs->log.ident, "%s", cr_rs_str(rs, m->log_ident));
	snprintf(rs->log.file, sizeof rs->log.file, "%s", cr_rs_str(rs, m->log_file));
	snprintf(rs->relay_socket, sizeof rs->relay_socket, "%s", cr_rs_str(rs, m->relay_socket));
}

struct cr_ruleset *cr_image_open(const void *image, size_t len, enum cr_image_owner owner, const char *name, char *err,
				 size_t errsize)
{
	struct found f;
	if (read_table(image, len, name, &f, err, errsize) != 0)
		return NULL;
	bool indexed = f.count[CR_SEC_IX_META] == 1;
	struct cr_index ix = { 0 };
	if (indexed && index_view(&ix, &f, name, err, errsize) != 0)
		return NULL;
	size_t namelen = strlen(name) + 1;
	struct cr_ruleset *rs = cr_ruleset_alloc(sizeof(struct cr_index) + namelen);
	if (!rs) {
		snprintf(err, errsize, "%s: out of memory", name);
		return NULL;
	}
	struct cr_index *view = (struct cr_index *)rs->storage;
	*view = ix;
	char *src = rs->storage + sizeof(struct cr_index);
	memcpy(src, name, namelen);
	rs->source = src;
	rs->index = indexed ? view : NULL;
	view_sections(rs, &f);
	apply_meta(rs, image, f.at[CR_SEC_META]);
	rs->loaded_at = cr_monotonic_now();
	if (!rs->seeded && cr_getrandom(&rs->seed, sizeof rs->seed, GRND_NONBLOCK) != sizeof rs->seed)
		rs->seed = (uint64_t)(rs->loaded_at * 1e9) * 6364136223846793005ULL ^ (uint64_t)getpid();
	if (cr_ruleset_init_states(rs) != 0) {
		snprintf(err, errsize, "%s: out of memory", name);
		cr_ruleset_free(rs);
		return NULL;
	}
	cr_ruleset_set_image(rs, image, len, owner);
	return rs;
}

int cr_image_verify(const struct cr_ruleset *rs, char *err, size_t errsize)
{
	const struct cr_image_header *h = rs->image;
	if (!h || rs->image_len < sizeof *h)
		return 0;
	if (cr_image_hash((const char *)h + sizeof *h, rs->image_len - sizeof *h, 0) != h->file_sum)
		return bad(err, errsize, rs->source,
			   "is corrupt: its checksum does not match its content; compile it again "
			   "(and replace it only by renaming a new file over it)");
	return 0;
}

/* ---- back to a draft ---- */

static char *dup_str(const struct cr_ruleset *rs, uint32_t off, bool *failed)
{
	char *s = strdup(cr_rs_str(rs, off));
	if (!s)
		*failed = true;
	return s;
}

static char **dup_list(const struct cr_ruleset *rs, uint32_t list, uint32_t n, unsigned *count, bool *failed)
{
	n = cr_rs_fit(list, n, rs->nrefs);
	*count = 0;
	if (!n)
		return NULL;
	char **v = calloc(n, sizeof *v);
	if (!v) {
		*failed = true;
		return NULL;
	}
	for (uint32_t i = 0; i < n; i++)
		v[i] = dup_str(rs, rs->refs[list + i], failed);
	*count = n;
	return v;
}

static void rule_to_draft(const struct cr_ruleset *rs, const struct cr_rule *r, struct cr_draft_rule *d, bool *failed)
{
	d->name = dup_str(rs, r->name, failed);
	d->named = r->flags & CR_RF_NAMED;
	d->has_dst = r->flags & CR_RF_HAS_DST;
	d->dst_any = r->flags & CR_RF_DST_ANY;
	d->resolver = r->flags & CR_RF_RESOLVER;
	uint32_t np = cr_rs_fit(r->prefixes, r->nprefixes, rs->nprefixes);
	if (np && (d->prefixes = malloc(np * sizeof *d->prefixes))) {
		memcpy(d->prefixes, rs->prefixes + r->prefixes, np * sizeof *d->prefixes);
		d->nprefixes = np;
	} else if (np) {
		*failed = true;
	}
	uint32_t nport = cr_rs_fit(r->ports, r->nports, rs->nports);
	if (nport && (d->ports = malloc(nport * sizeof *d->ports))) {
		memcpy(d->ports, rs->ports + r->ports, nport * sizeof *d->ports);
		d->nports = nport;
	} else if (nport) {
		*failed = true;
	}
	d->hosts = dup_list(rs, r->hosts, r->nhosts, &d->nhosts, failed);
	d->paths = dup_list(rs, r->paths, r->npaths, &d->npaths, failed);
	if (r->process && r->process <= rs->npatterns)
		d->process = dup_str(rs, rs->patterns[r->process - 1], failed);
	d->proto_mask = r->proto_mask & (CR_PROTO_TCP | CR_PROTO_UDP | CR_PROTO_UNIX);
	d->err = r->err;
	d->delay_ms = r->delay_ms;
	d->action = r->action <= CR_ACT_LAST ? r->action : CR_ACT_PASS;
	const struct cr_shape_rec *sr = cr_rule_shape(rs, r);
	const struct cr_fault_rec *fr = cr_action_after_connect(d->action) || sr ? cr_rule_fault(rs, r) : NULL;
	d->shape = cr_shape_of(sr);
	if (fr)
		d->fault = (struct cr_fault){ .after_bytes = fr->after_bytes,
					      .after_ms = fr->after_ms,
					      .direction = fr->direction <= CR_DIR_OUT ? fr->direction : CR_DIR_BOTH,
					      .has_after_bytes = fr->has_after_bytes != 0,
					      .has_after_ms = fr->has_after_ms != 0,
					      .has_direction = fr->has_direction != 0 };
	d->level = r->level >= CR_LEVEL_INHERIT && r->level <= CR_LEVEL_ALL ? r->level : CR_LEVEL_INHERIT;
	d->dry_run = r->dry_run < 0 ? -1 : r->dry_run > 0;
	d->line = cr_rule_line(rs, r);
	const struct cr_sched *s = cr_rule_sched(rs, r);
	if (s) {
		d->has_probability = s->has_probability;
		d->has_window = s->has_window;
		d->has_flap = s->has_flap;
		d->probability = s->probability;
		d->first = s->first;
		d->after = s->after;
		d->every = s->every;
		d->window_start = s->window_start;
		d->window_duration = s->window_duration;
		d->flap_up = s->flap_up;
		d->flap_down = s->flap_down;
		d->scope = s->scope < 4 ? s->scope : CR_SHARE_DEFAULT;
	}
}

struct cr_draft *cr_ruleset_to_draft(const struct cr_ruleset *rs)
{
	struct cr_draft *d = cr_draft_new(rs->source);
	if (!d)
		return NULL;
	d->seed = rs->seed;
	d->seeded = rs->seeded;
	d->default_action = rs->default_action;
	d->dry_run = rs->dry_run;
	d->log = rs->log;
	memcpy(d->relay_socket, rs->relay_socket, sizeof d->relay_socket);
	if (rs->nrules && !(d->rules = calloc(rs->nrules, sizeof *d->rules))) {
		cr_draft_free(d);
		return NULL;
	}
	bool failed = false;
	for (uint32_t i = 0; i < rs->nrules && !failed; i++) {
		d->nrules = i + 1;
		rule_to_draft(rs, &rs->rules[i], &d->rules[i], &failed);
	}
	if (failed) {
		cr_draft_free(d);
		return NULL;
	}
	return d;
}
