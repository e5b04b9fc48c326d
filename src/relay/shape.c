/* Shaping one direction of a relayed connection (shape.h): a ring of bytes
 * read, cut into chunks as they were read, each due latency_ms (+- a
 * uniform jitter_ms, never before the chunk ahead of it) after its read;
 * reads limited by a token bucket of bandwidth bytes a second; writes cut
 * into pieces of at most slice bytes, slice_ms apart. */
#define _GNU_SOURCE
#include "shape.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

/* What one way holds at most, in bytes and in chunks: beyond, it reads
 * nothing (back-pressure). Latency then caps a way's rate at QUEUE_BYTES a
 * latency, as a real link's window does. */
#define QUEUE_BYTES (512 * 1024)
#define CHUNKS 1024
/* The token bucket holds BURST_S seconds of bandwidth (at most MAX_BURST
 * bytes); a read waits for MIN_READ tokens (or a full bucket), so a slow
 * rate is not a read a byte. */
#define BURST_S 0.05
#define MAX_BURST (64 * 1024)
#define MIN_READ (16 * 1024)

struct chunk {
	double due;
	size_t len; /* bytes of it left to write */
};

struct cr_shaper {
	struct cr_shape s;
	char *ring;
	size_t head, held; /* the oldest byte held; bytes held */
	struct chunk chunks[CHUNKS];
	unsigned first, nchunks;
	double last_due;   /* chunks leave in order */
	double next_write; /* slice: the next piece's time */
	double tokens, filled_at, burst, min_read;
	uint64_t rng;
};

struct cr_shaper *cr_shaper_new(const struct cr_shape *s, int fd, double now)
{
	struct cr_shaper *sh = calloc(1, sizeof *sh);
	if (!sh || !(sh->ring = malloc(QUEUE_BYTES))) {
		free(sh);
		return NULL;
	}
	sh->s = *s;
	if (s->has_bandwidth && s->bandwidth) {
		double b = (double)s->bandwidth * BURST_S;
		sh->burst = b < 1 ? 1 : b > MAX_BURST ? MAX_BURST : b;
		sh->min_read = sh->burst < MIN_READ ? sh->burst : MIN_READ;
		sh->tokens = sh->burst;
		sh->filled_at = now;
	}
	if (s->has_slice) {
		/* Each piece its own segment, not held back for the next (Nagle). */
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	}
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	sh->rng = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)(uintptr_t)sh ^ 0x9e3779b97f4a7c15ull;
	return sh;
}

void cr_shaper_free(struct cr_shaper *sh)
{
	if (sh)
		free(sh->ring);
	free(sh);
}

static double tokens_at(const struct cr_shaper *sh, double now)
{
	double t = sh->tokens + (now - sh->filled_at) * (double)sh->s.bandwidth;
	return t > sh->burst ? sh->burst : t;
}

size_t cr_shaper_room(struct cr_shaper *sh, double now, char **at)
{
	if (sh->nchunks == CHUNKS || sh->held == QUEUE_BYTES)
		return 0;
	size_t tail = (sh->head + sh->held) % QUEUE_BYTES;
	/* A chunk never wraps: it is read into the space up to the ring's end. */
	size_t room = tail >= sh->head ? QUEUE_BYTES - tail : sh->head - tail;
	if (sh->burst) {
		double t = tokens_at(sh, now);
		if (t < sh->min_read)
			return 0;
		if ((double)room > t)
			room = (size_t)t;
	}
	*at = sh->ring + tail;
	return room;
}

/* Uniform in [-j, j] milliseconds, as seconds. */
static double jitter(struct cr_shaper *sh)
{
	sh->rng ^= sh->rng << 13;
	sh->rng ^= sh->rng >> 7;
	sh->rng ^= sh->rng << 17;
	double u = (double)(sh->rng >> 11) / (double)(1ull << 53);
	return (2 * u - 1) * sh->s.jitter_ms / 1000.0;
}

void cr_shaper_took(struct cr_shaper *sh, size_t n, double now)
{
	if (sh->burst) {
		sh->tokens = tokens_at(sh, now) - (double)n;
		sh->filled_at = now;
	}
	double due = now;
	if (sh->s.has_latency_ms)
		due += sh->s.latency_ms / 1000.0 + (sh->s.has_jitter_ms ? jitter(sh) : 0);
	if (due < sh->last_due)
		due = sh->last_due;
	sh->last_due = due;
	sh->chunks[(sh->first + sh->nchunks++) % CHUNKS] = (struct chunk){ due, n };
	sh->held += n;
}

bool cr_shaper_due(const struct cr_shaper *sh, double now)
{
	return sh->nchunks && sh->chunks[sh->first].due <= now && (!sh->s.has_slice || sh->next_write <= now);
}

ssize_t cr_shaper_flush(struct cr_shaper *sh, int fd, double now)
{
	ssize_t done = 0;
	while (cr_shaper_due(sh, now)) {
		struct chunk *c = &sh->chunks[sh->first];
		size_t piece = c->len;
		if (sh->s.has_slice && piece > sh->s.slice)
			piece = sh->s.slice;
		ssize_t k = send(fd, sh->ring + sh->head, piece, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return done ? done : -1;
		}
		sh->head = (sh->head + (size_t)k) % QUEUE_BYTES;
		sh->held -= (size_t)k;
		c->len -= (size_t)k;
		done += k;
		if (!c->len) {
			sh->first = (sh->first + 1) % CHUNKS;
			sh->nchunks--;
		}
		if (!sh->held)
			sh->head = 0;
		if (sh->s.has_slice) {
			sh->next_write = now + sh->s.slice_ms / 1000.0;
			if (sh->s.slice_ms)
				break; /* the next piece waits */
		}
		if ((size_t)k < piece)
			break; /* the socket is full */
	}
	return done;
}

size_t cr_shaper_held(const struct cr_shaper *sh)
{
	return sh->held;
}

double cr_shaper_wake(const struct cr_shaper *sh, double now, bool reading)
{
	double wait = -1;
	if (sh->nchunks) {
		double at = sh->chunks[sh->first].due;
		if (sh->s.has_slice && sh->next_write > at)
			at = sh->next_write;
		wait = at > now ? at - now : 0;
	}
	if (reading && sh->burst) {
		double t = tokens_at(sh, now);
		if (t < sh->min_read) {
			double w = (sh->min_read - t) / (double)sh->s.bandwidth;
			if (wait < 0 || w < wait)
				wait = w;
		}
	}
	return wait;
}
