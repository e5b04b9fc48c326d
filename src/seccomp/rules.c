/* The rules in force under run --seccomp, by generation: a reload makes a
 * new one; an older one is freed once no call is acted on under it and no
 * process counts against it. */
#include "seccomp.h"
#include "engine/clock.h"
#include "engine/config.h"
#include "engine/config_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void cr_generation_release(struct cr_generation *g)
{
	atomic_fetch_sub(&g->refs, 1);
}

/* Frees the older generations that no call and no process uses any more. */
static void collect(struct cr_sv *sv)
{
	struct cr_generation **p = &sv->current->older;
	while (*p) {
		struct cr_generation *g = *p;
		if (atomic_load(&g->refs) > 0 || cr_sv_uses_generation(sv, g)) {
			p = &g->older;
		} else {
			*p = g->older;
			cr_ruleset_free(g->rs);
			free(g);
		}
	}
}

static struct cr_generation *generation_new(struct cr_ruleset *rs, struct cr_generation *older)
{
	struct cr_generation *g = calloc(1, sizeof *g);
	if (!g)
		return NULL;
	g->rs = rs;
	atomic_init(&g->refs, 1);
	g->older = older;
	return g;
}

/* The shared schedule states (engine/shared.h): the run's, made by
 * connrefuse run (CONNREFUSE_RUN_STATE), and the rules file's, with the
 * generation `connrefuse reload` bumps. One that cannot be used: one
 * config error, and its rules count per process. */
static void share_state(struct cr_sv *sv, struct cr_ruleset *rs)
{
	char path[4200], err[1200], msg[1400];
	const char *run = getenv("CONNREFUSE_RUN_STATE");
	const char *bad = NULL;
	if (run && *run && cr_shared_open(&sv->run_state, run, false, err, sizeof err) != 0)
		bad = err;
	if (cr_shared_file_path(sv->config, cr_shared_runtime_dir(getenv("XDG_RUNTIME_DIR")), (unsigned)geteuid(), path,
				sizeof path) == 0 &&
	    cr_shared_open(&sv->file_state, path, true, bad ? msg : err, bad ? sizeof msg : sizeof err) != 0 && !bad)
		bad = err;
	if (bad && rs->nscheds)
		fprintf(stderr,
			"connrefuse: config error: the shared schedule state %s; scheduled rules count per process "
			"(scope \"process\")\n",
			bad);
	if (sv->file_state.head)
		sv->seen_generation = cr_shared_generation(&sv->file_state);
	cr_ruleset_attach_shared(rs, &sv->run_state, &sv->file_state, cr_monotonic_now());
}

int cr_sv_rules_start(struct cr_sv *sv, const char *config, char *err, size_t errsize)
{
	sv->config = config;
	struct cr_ruleset *rs = config ? cr_config_load(config, err, errsize) : cr_ruleset_new_empty();
	if (!rs)
		return -1;
	/* The lines of every process of the run go to one file, wherever each
	 * process is (run exports the folder it started in). */
	if (cr_start_dir(getenv("CONNREFUSE_START_DIR"), sv->start_dir, sizeof sv->start_dir) != 0)
		sv->start_dir[0] = '\0';
	cr_log_file_absolute(&rs->log, sv->start_dir);
	if (config)
		share_state(sv, rs);
	if (!(sv->current = generation_new(rs, NULL))) {
		cr_ruleset_free(rs);
		snprintf(err, errsize, "out of memory");
		return -1;
	}
	cr_watch_start(&sv->watch, config, CR_CONFIG_MAX_BYTES);
	sv->watch.start_dir = sv->start_dir;
	sv->next_look = cr_monotonic_now() + 1;
	return 0;
}

void cr_sv_maybe_reload(struct cr_sv *sv, double now)
{
	if (!sv->config)
		return;
	/* `connrefuse reload` bumped the generation: this very call decides
	 * with the new file, whatever its stat says. */
	bool forced = false;
	if (sv->file_state.head) {
		uint64_t g = cr_shared_generation(&sv->file_state);
		forced = g != sv->seen_generation;
		sv->seen_generation = g;
	}
	if (!forced && now < sv->next_look)
		return;
	sv->next_look = now + 1;
	if (!cr_watch_changed(&sv->watch) && !forced)
		return;
	struct cr_ruleset *rs = cr_reload(&sv->watch, &sv->current->rs->log);
	if (!rs)
		return;
	cr_ruleset_attach_shared(rs, &sv->run_state, &sv->file_state, now);
	struct cr_generation *g = generation_new(rs, sv->current);
	if (!g) {
		cr_ruleset_free(rs);
		return;
	}
	cr_generation_release(sv->current);
	sv->current = g;
	collect(sv);
}
