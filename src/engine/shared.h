/* Schedule state shared across processes: the scopes "run" and "file".
 *
 * A state file is a small fixed-size mapping, private to its user (0600,
 * in $XDG_RUNTIME_DIR or /dev/shm): a header with a generation number
 * (bumped by `connrefuse reload`, read by every process at each connect)
 * and a table of slots, one a scheduled rule, found by the rule's identity
 * (its name and whole text, as compiled files store it), each holding the
 * rule's attempts, firings and clock. Every update is one atomic operation
 * on a slot: no lock, so no process can leave one held.
 *
 * The content is untrusted input: any process of the user can write it.
 * Only the file's type, owner, mode, size and header are checked, when it
 * is opened; after that a changed byte can change a counter (and so a
 * schedule's answer) but every slot index is computed here, bounded by
 * CR_SHARED_SLOTS, never read from the file. */
#ifndef CR_SHARED_H
#define CR_SHARED_H

#include "rules.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CR_SHARED_SLOTS 1024u
#define CR_SHARED_PROBES 64u /* slots looked at for one identity */

struct cr_shared_slot {
	_Atomic uint64_t identity; /* 0: free */
	struct cr_counts n;
};

struct cr_shared_head {
	uint64_t magic;
	uint32_t version;
	uint32_t slots;
	_Atomic uint64_t generation;
	uint8_t reserved[40];
};

struct cr_shared {
	struct cr_shared_head *head;
	struct cr_shared_slot *slots;
	size_t len;
};

/* Bytes of a state file. */
size_t cr_shared_size(void);

/* xdg ($XDG_RUNTIME_DIR) if it is a folder of the user's alone (0700),
 * else NULL (the state files go to /dev/shm). */
const char *cr_shared_runtime_dir(const char *xdg);
/* The state file of a rules file (its absolute path) for user uid, in dir
 * (the user's $XDG_RUNTIME_DIR, or NULL: /dev/shm). -1 when it does not fit. */
int cr_shared_file_path(const char *rules, const char *dir, unsigned uid, char *out, size_t size);

/* Opens (and with create, makes: private, written whole before it
 * appears) the state file at path. 0, or -1 with why in err. */
int cr_shared_open(struct cr_shared *sh, const char *path, bool create, char *err, size_t errsize);
void cr_shared_close(struct cr_shared *sh);
/* A new state file for one connrefuse run, in dir (or /dev/shm): its path
 * in out. 0, or -1 with why in err. */
int cr_shared_create_run(const char *dir, unsigned uid, char *out, size_t size, char *err, size_t errsize);

/* The counters of the rule of that identity: its slot, claimed if it has
 * none yet (its clock starting at now). NULL when no slot is left. */
struct cr_counts *cr_shared_counts(const struct cr_shared *sh, uint64_t identity, double now);
/* The same, looked up only (NULL: none). */
const struct cr_counts *cr_shared_find(const struct cr_shared *sh, uint64_t identity);

static inline uint64_t cr_shared_generation(const struct cr_shared *sh)
{
	return atomic_load_explicit(&sh->head->generation, memory_order_acquire);
}
void cr_shared_bump(const struct cr_shared *sh);
/* Frees the slots of every identity not in keep (sorted): rules that left
 * the file start again should they come back. */
void cr_shared_forget_others(const struct cr_shared *sh, const uint64_t *keep, size_t nkeep);
/* Sets the counters of the identities in ids (sorted) back to zero and
 * their clocks to now, the others untouched (reload --reset: another
 * file's rules in the same run state keep theirs). */
void cr_shared_reset(const struct cr_shared *sh, const uint64_t *ids, size_t nids, double now);

/* Points the scheduled rules of rs at their shared counters: scope "run"
 * at run (NULL outside connrefuse run: they count per process), "file" at
 * file; the default is "run" inside a run, "file" otherwise. A scope whose
 * state is missing counts per process. The scope in force is recorded in
 * each rule's state (cr_ruleset_scope). */
void cr_ruleset_attach_shared(struct cr_ruleset *rs, const struct cr_shared *run, const struct cr_shared *file,
			      double now);

#endif
