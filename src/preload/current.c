#define _GNU_SOURCE
#include "current.h"
#include "engine/config.h"
#include "engine/clock.h"
#include "engine/logsink.h"
#include "engine/reload.h"
#include "engine/shared.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>

static _Atomic(struct cr_ruleset *) active;
/* Readers count themselves in the slot of the generation they saw. */
static atomic_uint generation;
static atomic_long readers[2];

static struct cr_watch watch; /* the file, and what it was when last looked at */
static bool bound;            /* process patterns are this process's */
static atomic_long next_look; /* monotonic seconds */
static atomic_flag reloading = ATOMIC_FLAG_INIT;

/* The shared schedule state (engine/shared.h): the rules file's, which
 * holds the generation `connrefuse reload` bumps, and the run's. */
static struct cr_shared file_state, run_state;
static atomic_uint_fast64_t seen_generation;

/* Retired rule sets waiting for their readers to leave. Touched only by the
 * thread holding `reloading`. */
struct retired {
	struct cr_ruleset *rs;
	bool slot_seen_empty[2]; /* since the set was swapped out */
	struct retired *next;
};
static struct retired *retired_list;

static long coarse_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (long)ts.tv_sec;
}

/* A state that cannot be used: one config error; the rules count per
 * process. */
static void state_error(const struct cr_ruleset *rs, const char *err, bool syslog_only)
{
	char msg[1400];
	snprintf(msg, sizeof msg,
		 "config error: the shared schedule state %s; scheduled rules count per process (scope \"process\")",
		 err);
	cr_log_message(&rs->log, LOG_ERR, !syslog_only, msg);
}

void cr_current_share(struct cr_ruleset *rs, const struct cr_share_paths *sp, bool syslog_only)
{
	char err[1200];
	bool wanted = rs->nscheds > 0;
	if (sp->run && *sp->run && cr_shared_open(&run_state, sp->run, false, err, sizeof err) != 0 && wanted)
		state_error(rs, err, syslog_only);
	if (sp->file && cr_shared_open(&file_state, sp->file, !syslog_only || wanted, err, sizeof err) != 0 && wanted)
		state_error(rs, err, syslog_only);
	if (file_state.head)
		atomic_store(&seen_generation, cr_shared_generation(&file_state));
	cr_ruleset_attach_shared(rs, &run_state, &file_state, cr_monotonic_now());
}

void cr_current_start(struct cr_ruleset *rs, const char *path, const char *start_dir, bool syslog_only,
		      bool bind_process)
{
	bound = bind_process;
	if (bound && rs)
		cr_ruleset_bind_process(rs);
	char *copy = path ? strdup(path) : NULL;
	if (copy) {
		cr_watch_start(&watch, copy, CR_RELOAD_TEXT_MAX);
		watch.syslog_only = syslog_only;
		watch.start_dir = start_dir;
	}
	atomic_store(&next_look, coarse_now() + 1);
	atomic_store(&active, rs);
}

const struct cr_ruleset *cr_current_enter(struct cr_reader *r)
{
	r->slot = atomic_load(&generation) & 1;
	atomic_fetch_add(&readers[r->slot], 1);
	return atomic_load(&active);
}

void cr_current_leave(const struct cr_reader *r)
{
	atomic_fetch_sub(&readers[r->slot], 1);
}

/* Frees the retired sets whose readers have all left. A reader that could
 * hold a retired set counted itself in a slot before it loaded the pointer,
 * so before the swap: once each slot has been seen empty at some moment
 * after the swap, every such reader is gone, whatever generation it read
 * (one that read a stale generation only delays the free). Turning the
 * generation sends new readers to the other slot, so that the slot still
 * awaited drains even under constant load. */
static void collect(void)
{
	struct retired **p = &retired_list;
	while (*p) {
		struct retired *r = *p;
		for (unsigned slot = 0; slot < 2; slot++)
			if (!r->slot_seen_empty[slot] && atomic_load(&readers[slot]) == 0)
				r->slot_seen_empty[slot] = true;
		if (r->slot_seen_empty[0] && r->slot_seen_empty[1]) {
			*p = r->next;
			cr_ruleset_free(r->rs);
			free(r);
		} else {
			p = &r->next;
		}
	}
	if (retired_list)
		atomic_fetch_add(&generation, 1);
}

static void swap_in(struct cr_ruleset *fresh)
{
	struct cr_ruleset *old = atomic_exchange(&active, fresh);
	atomic_fetch_add(&generation, 1);
	struct retired *r = malloc(sizeof *r);
	if (!r)
		return; /* cannot track it: leak the old set rather than risk a reader */
	*r = (struct retired){ .rs = old, .next = retired_list };
	retired_list = r;
}

/* forced: `connrefuse reload` said the file changed, whatever its stat
 * says (a rename within one tick of the file system's clock can leave
 * size, inode and time as they were). */
static void reload(bool forced)
{
	if (!cr_watch_changed(&watch) && !forced)
		return;
	const struct cr_ruleset *cur = atomic_load(&active);
	struct cr_ruleset *fresh = cur ? cr_reload(&watch, &cur->log) : NULL;
	if (!fresh)
		return;
	if (bound)
		cr_ruleset_bind_process(fresh);
	cr_ruleset_attach_shared(fresh, &run_state, &file_state, cr_monotonic_now());
	cr_ruleset_adopt_state(fresh, cur);
	swap_in(fresh);
}

static bool reload_now(bool forced)
{
	if (!watch.path || atomic_flag_test_and_set(&reloading))
		return false; /* another thread is at it */
	int saved = errno;
	collect();
	reload(forced);
	collect();
	errno = saved;
	atomic_flag_clear(&reloading);
	return true;
}

void cr_current_reload_now(void)
{
	reload_now(false);
}

void cr_current_poll(void)
{
	/* One atomic load of the shared generation a connect: a bump by
	 * `connrefuse reload` is seen by this very connect. */
	if (file_state.head) {
		uint_fast64_t g = cr_shared_generation(&file_state);
		if (g != atomic_load_explicit(&seen_generation, memory_order_relaxed) && reload_now(true))
			atomic_store_explicit(&seen_generation, g, memory_order_relaxed);
	}
	long now = coarse_now(), next = atomic_load_explicit(&next_look, memory_order_relaxed);
	if (now < next || !watch.path)
		return;
	if (!atomic_compare_exchange_strong(&next_look, &next, now + 1))
		return; /* another thread looks this time */
	cr_current_reload_now();
}

void cr_current_after_fork(void)
{
	atomic_store(&readers[0], 0);
	atomic_store(&readers[1], 0);
	atomic_flag_clear(&reloading);
}
