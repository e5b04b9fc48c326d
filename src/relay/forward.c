/* One relayed connection: bytes forwarded both ways, through a buffer per
 * direction; the fault fired when its time comes (after_bytes counted in
 * its direction, after_ms since the connect, or at once).
 *
 * Exactly after_bytes bytes pass: a read never takes more than what is
 * left before the fault (less what either way holds, not yet written on),
 * and the fault fires once they have all been written on (into the
 * kernel's queue toward the receiving side). */
#define _GNU_SOURCE
#include "relay.h"
#include "shape.h"
#include "engine/clock.h"
#include "engine/ident.h"
#include "engine/logfmt.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

/* A way's buffer: a stream moves in reads and writes of up to 1 MiB,
 * faster here than through 128 or 256 KiB, and faster than splice()
 * through a 1 MiB pipe: the receiver's copy of the pages splice passes on
 * costs it about twice its copy of the relay's fresh ones, more than the
 * relay's own copies cost (doc/maintainers/performance.md). Its pages are
 * the kernel's until a read fills them. */
#define BUF_BYTES (1024 * 1024)
/* A way whose reads filled more of its buffer than KEEP_BYTES gives its
 * pages back once it has read nothing for IDLE_S, the buffer empty: a
 * connection that carried a burst and then waits holds no more than one
 * that never did (and one that passes requests and answers makes no such
 * call). */
#define KEEP_BYTES (64 * 1024)
#define IDLE_S 1.0
/* Reads a way makes in a row while it can (read all, written all), before
 * it polls again: a poll a chunk halves the throughput. */
#define ROUNDS 16
/* A stall toward the program whose program has stopped sending (an EOF:
 * it closed, or shut its writing) is given up this long after: nothing
 * tells a close from a half-close, and a closed program's connection would
 * hold the relay's descriptors for good. The kernel keeps an orphaned
 * FIN_WAIT2 socket as long (tcp_fin_timeout). */
#define STALL_AFTER_EOF_S 60.0

/* One direction: from one socket to the other. */
struct way {
	int from, to;
	char *buf;
	size_t len, off;           /* bytes in buf; bytes of them written on */
	size_t touched;            /* bytes of buf reads have filled since it was last given back */
	double active;             /* when it last read (monotonic seconds) */
	unsigned long long passed; /* written on so far */
	bool eof;                  /* from has no more; to was shut for writing once buf emptied */
	bool stalled;              /* a stall in this direction: nothing is read any more */
	bool counted;              /* after_bytes counts this direction */
	struct cr_shaper *sh;      /* shaped (shape.c; len is then the bytes it holds); NULL: not */
	bool shut;                 /* shaped: the EOF passed on once all was written */
};

/* Bytes w has taken and not yet written on. */
static size_t held(const struct way *w)
{
	return w->len - w->off;
}

/* The bytes the fault counts, passed so far in its direction(s). */
static unsigned long long counted(const struct way *in, const struct way *out)
{
	return (in->counted ? in->passed : 0) + (out->counted ? out->passed : 0);
}

/* How many bytes w may read now: what is left before the fault, less what
 * the other way holds toward it (direction "both": both count), and what
 * w's own shaper holds (a shaped way reads while it holds). */
static size_t may_read(const struct cr_fault *f, const struct way *w, const struct way *other, unsigned long long done,
		       bool fired)
{
	if (fired || !w->counted || f->has_after_ms)
		return BUF_BYTES;
	done += other->counted ? held(other) : 0;
	done += w->sh ? held(w) : 0;
	unsigned long long left = f->after_bytes > done ? f->after_bytes - done : 0;
	return left < BUF_BYTES ? (size_t)left : BUF_BYTES;
}

/* Reads into the empty buffer: >0 bytes, 0 at EOF, -1 on an error (errno;
 * EAGAIN: nothing now). */
static ssize_t fill(struct way *w, size_t max)
{
	ssize_t n = read(w->from, w->buf, max);
	if (n > 0) {
		w->len = (size_t)n;
		w->off = 0;
		w->touched = w->len > w->touched ? w->len : w->touched;
		if (w->touched > KEEP_BYTES)
			w->active = cr_monotonic_now();
	}
	return n;
}

/* Writes what the buffer holds: 0, or -1 on an error (EAGAIN: later). */
static int flush(struct way *w)
{
	while (w->off < w->len) {
		ssize_t n = send(w->to, w->buf + w->off, w->len - w->off, MSG_NOSIGNAL);
		if (n < 0)
			return errno == EINTR ? 0 : -1;
		w->off += (size_t)n;
		w->passed += (unsigned long long)n;
	}
	w->len = w->off = 0;
	return 0;
}

/* A reset: SO_LINGER 0, then close, makes the kernel send a RST. */
static void reset_close(int fd)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
	close(fd);
}

/* The line of a fault that fired, or (level all) of a pass that shaped
 * its connection, once that ended; known: the program's ids, read before
 * (NULL: read now). */
static void log_fired(const struct cr_relay_conn *c, const struct way *in, const struct way *out, double now,
		      const struct cr_ident *known)
{
	if (c->ask.level < (c->ask.action == CR_ACT_PASS ? CR_LEVEL_ALL : CR_LEVEL_FAILURES))
		return;
	struct cr_dest d;
	if (cr_dest_from_sockaddr((const struct sockaddr *)&c->ask.dst, c->ask.dst_len, &d) != 0)
		return;
	struct cr_ident id;
	if (known)
		id = *known;
	else
		cr_ident_read(c->pid, false, &id);
	if (id.uid < 0) /* the process is gone: its user as the ask's credentials said */
		id.uid = id.euid = (int)c->uid;
	static const enum cr_result results[] = {
		[CR_ACT_PASS] = CR_RES_SHAPED,
		[CR_ACT_RESET] = CR_RES_RESET,
		[CR_ACT_CLOSE] = CR_RES_CLOSED,
		[CR_ACT_STALL] = CR_RES_STALLED,
	};
	struct cr_event ev = {
		.result = results[c->ask.action],
		.simulated = true,
		.rule = c->ask.rule[0] ? c->ask.rule : NULL,
		.action = c->ask.action,
		.pid = c->pid,
		.comm = c->ask.comm,
		.dest = &d,
		.host = c->ask.host[0] ? c->ask.host : NULL,
		.proto = "tcp",
		.has_ids = id.uid >= 0,
		.uid = id.uid,
		.euid = id.euid,
		.cgroup = id.cgroup[0] ? id.cgroup : NULL,
		.traffic = true,
		.sent = out->passed,
		.received = in->passed,
		.after_ms = (unsigned long long)((now - c->start) * 1000),
	};
	cr_log_event(c->log, c->log_state, &ev);
}

/* The poll events a way's sockets wait for. */
static void way_want(const struct way *w, short *from, short *to, double now)
{
	char *at;
	if (w->sh ? !w->eof && !w->stalled && cr_shaper_room(w->sh, now, &at) : !w->eof && !w->stalled && !held(w))
		*from |= POLLIN;
	if (w->sh ? cr_shaper_due(w->sh, now) : held(w) > 0)
		*to |= POLLOUT;
}

/* The poll events each socket waits for, from the state of both ways. */
static void want(struct pollfd *p, const struct way *in, const struct way *out, double now)
{
	/* p[0]: the program's socket; p[1]: the destination's. */
	p[0].events = p[1].events = 0;
	way_want(out, &p[0].events, &p[1].events, now);
	way_want(in, &p[1].events, &p[0].events, now);
	/* A stalled program side still learns that the program went away. */
	if (out->stalled)
		p[0].events |= POLLRDHUP;
}

enum { WAY_OK, WAY_MORE, WAY_READ_ERR, WAY_WRITE_ERR };

/* A shaped way's step: write what is due, read what it may hold. */
static int step_shaped(struct way *w, short from_ev, size_t max)
{
	double now = cr_monotonic_now();
	ssize_t k = cr_shaper_flush(w->sh, w->to, now);
	if (k < 0 && errno != EAGAIN)
		return WAY_WRITE_ERR;
	w->passed += k > 0 ? (unsigned long long)k : 0;
	w->len = cr_shaper_held(w->sh);
	if (w->eof && !w->len && !w->shut) {
		w->shut = true;
		shutdown(w->to, SHUT_WR); /* the FIN passed on, after the bytes before it */
	}
	char *at;
	size_t room = cr_shaper_room(w->sh, now, &at);
	if (w->eof || w->stalled || !(room = room < max ? room : max) || !(from_ev & (POLLIN | POLLHUP | POLLRDHUP)))
		return WAY_OK;
	ssize_t n = read(w->from, at, room);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? WAY_OK : WAY_READ_ERR;
	if (n == 0)
		w->eof = true;
	else
		cr_shaper_took(w->sh, (size_t)n, now);
	return step_shaped(w, 0, 0) == WAY_WRITE_ERR ? WAY_WRITE_ERR : n ? WAY_MORE : WAY_OK;
}

/* One way's step after poll: write on, read, pass an EOF on. */
static int step(struct way *w, short from_ev, short to_ev, size_t max)
{
	if (w->sh)
		return step_shaped(w, from_ev, max);
	if (held(w) && (to_ev & POLLOUT) && flush(w) != 0 && errno != EAGAIN)
		return WAY_WRITE_ERR;
	if (held(w) || w->eof || w->stalled || !max || !(from_ev & (POLLIN | POLLHUP | POLLRDHUP)))
		return WAY_OK;
	ssize_t n = fill(w, max);
	if (n == 0) {
		w->eof = true;
		shutdown(w->to, SHUT_WR); /* the FIN passed on */
	} else if (n < 0) {
		return errno == EAGAIN || errno == EINTR ? WAY_OK : WAY_READ_ERR;
	} else if (flush(w) != 0) {
		return errno == EAGAIN ? WAY_OK : WAY_WRITE_ERR;
	} else if ((size_t)n == max) {
		return WAY_MORE; /* read all it asked, written whole: there may be more now */
	}
	return WAY_OK;
}

/* The end of a connection that failed on one side (fd): a reset there is
 * passed on as a reset, anything else as a close. */
static void end_failed(int failed, int other, int err)
{
	if (err == ECONNRESET || err == EPIPE)
		reset_close(other);
	else
		close(other);
	close(failed);
}

/* Steps of w while it can go on (up to ROUNDS); true when one ended the
 * connection (a failure on a side, passed on to the other). The fault's
 * limit is asked again at each step. */
static bool step_or_end(struct cr_relay_conn *c, struct way *w, short from_ev, short to_ev, const struct way *in,
			const struct way *out, bool fired)
{
	const struct way *other = w == in ? out : in;
	int r = WAY_MORE;
	for (int i = 0; i < ROUNDS && r == WAY_MORE; i++, from_ev |= POLLIN)
		r = step(w, from_ev, to_ev, may_read(&c->ask.fault, w, other, counted(in, out), fired));
	if (r == WAY_OK || r == WAY_MORE)
		return false;
	int err = errno;
	if (r == WAY_READ_ERR)
		end_failed(w->from, w->to, err);
	else
		end_failed(w->to, w->from, err);
	return true;
}

/* timeout (ms, -1: none), shortened to when a shaped way has a piece due
 * or tokens to read. */
static int shaped_timeout(const struct way *w, int timeout, double now)
{
	double wake = w->sh ? cr_shaper_wake(w->sh, now, !w->eof && !w->stalled) : -1;
	int ms = wake < 0 ? -1 : (int)(wake * 1000) + 1;
	return ms < 0 ? timeout : timeout < 0 || ms < timeout ? ms : timeout;
}

/* Gives back the pages of w's buffer once w has read nothing for IDLE_S,
 * the buffer empty; timeout (ms, -1: none) shortened to when that is due. */
static int release_idle(struct way *w, int timeout, double now)
{
	if (w->touched <= KEEP_BYTES || held(w))
		return timeout;
	double left = w->active + IDLE_S - now;
	if (left <= 0) {
		madvise(w->buf, w->touched, MADV_DONTNEED); /* (read as zeros, filled anew) */
		w->touched = 0;
		return timeout;
	}
	int ms = (int)(left * 1000) + 1;
	return timeout < 0 || ms < timeout ? ms : timeout;
}

static int sock_error(int fd)
{
	int err = 0;
	socklen_t len = sizeof err;
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
	return err;
}

/* Fires the fault; true when the connection is over. */
static bool fire(struct cr_relay_conn *c, struct way *in, struct way *out, double now)
{
	log_fired(c, in, out, now, NULL);
	if (c->ask.action == CR_ACT_RESET) {
		reset_close(c->prog);
		close(c->up);
		return true;
	}
	if (c->ask.action == CR_ACT_CLOSE) {
		close(c->prog);
		close(c->up);
		return true;
	}
	/* stall: unread bytes stay in the kernel's queues, whose windows close:
	 * the reads of the program wait, its writes block once they are full. */
	in->stalled = c->ask.fault.direction != CR_DIR_OUT;
	out->stalled = c->ask.fault.direction != CR_DIR_IN;
	return false;
}

/* The shapers of the ways in the rule's direction; -1 when memory is out. */
static int shapers_new(const struct cr_relay_conn *c, struct way *in, struct way *out)
{
	const struct cr_shape *s = &c->ask.shape;
	if (!cr_shape_any(s))
		return 0;
	int dir = c->ask.fault.direction;
	double now = cr_monotonic_now();
	if (dir != CR_DIR_OUT && !(in->sh = cr_shaper_new(s, in->to, now)))
		return -1;
	if (dir != CR_DIR_IN && !(out->sh = cr_shaper_new(s, out->to, now))) {
		cr_shaper_free(in->sh);
		return -1;
	}
	return 0;
}

void cr_relay_forward(struct cr_relay_conn *c)
{
	const struct cr_fault *f = &c->ask.fault;
	/* Mapped apart, not from the heap: the pages go back to the kernel
	 * when given back (release_idle) and when the connection ends. */
	char *bufs = mmap(NULL, 2 * BUF_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (bufs == MAP_FAILED) {
		close(c->prog);
		close(c->up);
		return;
	}
	struct way in = { .from = c->up, .to = c->prog, .buf = bufs, .counted = f->direction != CR_DIR_OUT };
	struct way out = { .from = c->prog, .to = c->up, .buf = bufs + BUF_BYTES, .counted = f->direction != CR_DIR_IN };
	if (shapers_new(c, &in, &out) != 0) {
		munmap(bufs, 2 * BUF_BYTES);
		close(c->prog);
		close(c->up);
		return;
	}
	fcntl(c->prog, F_SETFL, fcntl(c->prog, F_GETFL) | O_NONBLOCK);
	fcntl(c->up, F_SETFL, fcntl(c->up, F_GETFL) | O_NONBLOCK);
	/* The relay writes on at once what it read: the sender's own stack has
	 * already chosen (Nagle or TCP_NODELAY) how to cut it. Nagle here again
	 * would hold the second small write of a program that set TCP_NODELAY
	 * until the first is acknowledged, up to a delayed ACK (40 ms) when the
	 * peer waits for the whole request. The program's socket is not the
	 * relay's: its options stay its own. */
	int one = 1;
	setsockopt(c->prog, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(c->up, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	bool fired = c->ask.action == CR_ACT_PASS, up_gone = false; /* a pass that shapes fires nothing */
	/* Its line comes when the connection ends, often after the program
	 * did: its ids are read while it runs. */
	struct cr_ident id = { .uid = -1, .euid = -1 };
	if (fired && c->ask.level >= CR_LEVEL_ALL)
		cr_ident_read(c->pid, false, &id);
	if (fired)
		cr_relay_pending_add(c->shaping, 1);
	double eof_at = 0; /* when the program's EOF came during a stall toward it */
	for (;;) {
		double now = cr_monotonic_now();
		bool due = f->has_after_ms ? now - c->start >= f->after_ms / 1000.0
					   : counted(&in, &out) >= f->after_bytes;
		if (!fired && due) {
			fired = true;
			if (fire(c, &in, &out, now))
				break;
		}
		if (in.eof && out.eof && !held(&in) && !held(&out)) {
			close(c->prog);
			close(c->up);
			break;
		}
		struct pollfd p[2] = { { .fd = c->prog }, { .fd = up_gone ? -1 : c->up } };
		want(p, &in, &out, now);
		int timeout = -1;
		if (!fired && f->has_after_ms) {
			double left = c->start + f->after_ms / 1000.0 - now;
			timeout = left > 0 ? (int)(left * 1000) + 1 : 0;
		}
		if (in.stalled && out.eof) {
			if (!eof_at)
				eof_at = now;
			double left = eof_at + STALL_AFTER_EOF_S - now;
			if (left <= 0) {
				close(c->prog);
				close(c->up);
				break;
			}
			timeout = (int)(left * 1000) + 1;
		}
		timeout = shaped_timeout(&in, timeout, now);
		timeout = shaped_timeout(&out, timeout, now);
		timeout = release_idle(&in, timeout, now);
		timeout = release_idle(&out, timeout, now);
		/* A socket a shaped way waits on only by time is not polled: its
		 * hang-up would wake the poll at once, again and again. */
		for (int i = 0; i < 2 && (in.sh || out.sh) && timeout >= 0; i++)
			p[i].fd = p[i].events ? p[i].fd : -1;
		int n = poll(p, 2, timeout);
		if (n <= 0)
			continue;
		if (p[0].revents & POLLERR) {
			end_failed(c->prog, c->up, sock_error(c->prog));
			break;
		}
		if (p[1].revents & POLLERR) {
			end_failed(c->up, c->prog, sock_error(c->up));
			break;
		}
		if (out.stalled && (p[0].revents & (POLLRDHUP | POLLHUP))) {
			close(c->prog); /* the program went away while stalled */
			close(c->up);
			break;
		}
		if (in.stalled && (p[1].revents & POLLHUP))
			up_gone = true; /* the destination went away: the stall goes on */
		if (step_or_end(c, &in, p[1].revents, p[0].revents, &in, &out, fired) ||
		    step_or_end(c, &out, p[0].revents, p[1].revents, &in, &out, fired))
			break;
	}
	if (c->ask.action == CR_ACT_PASS) {
		log_fired(c, &in, &out, cr_monotonic_now(), &id);
		cr_relay_pending_add(c->shaping, -1);
	}
	cr_shaper_free(in.sh);
	cr_shaper_free(out.sh);
	munmap(bufs, 2 * BUF_BYTES);
}
