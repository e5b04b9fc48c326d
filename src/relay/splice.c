/* One way of a relayed connection moved by the kernel: socket -> pipe ->
 * socket with splice(), the bytes never copied through the relay's memory
 * (a read and a write through a buffer cost more than half the throughput
 * of a direct loopback connection). The pipe holds what was taken from one
 * socket and not yet given to the other, as the buffer of forward.c does. */
#define _GNU_SOURCE
#include "relay.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

/* The pipe's size: 1 MiB takes a burst of loopback's queues in one call
 * (the default 64 KiB needs sixteen); smaller if the system's limit says
 * so (fs.pipe-max-size), the default if that fails too. */
#define PIPE_BYTES (1024 * 1024)
#define FLAGS (SPLICE_F_MOVE | SPLICE_F_NONBLOCK)

int cr_pipe_open(struct cr_pipe *p)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0)
		return -1;
	if (fcntl(fds[1], F_SETPIPE_SZ, PIPE_BYTES) < 0)
		fcntl(fds[1], F_SETPIPE_SZ, PIPE_BYTES / 4);
	int cap = fcntl(fds[1], F_GETPIPE_SZ);
	*p = (struct cr_pipe){ .r = fds[0], .w = fds[1], .cap = cap > 0 ? (size_t)cap : 65536 };
	return 0;
}

void cr_pipe_close(struct cr_pipe *p)
{
	if (p->r < 0)
		return;
	close(p->r);
	close(p->w);
	p->r = p->w = -1;
	p->held = 0;
}

ssize_t cr_pipe_fill(struct cr_pipe *p, int from, size_t max)
{
	size_t room = p->cap - p->held;
	ssize_t n = splice(from, NULL, p->w, NULL, max < room ? max : room, FLAGS);
	if (n > 0)
		p->held += (size_t)n;
	return n;
}

int cr_pipe_drain(struct cr_pipe *p, int to, unsigned long long *passed)
{
	while (p->held) {
		/* (A peer gone makes the kernel send SIGPIPE here: splice has no
		 * MSG_NOSIGNAL. The relay's threads block it: relay.c.) */
		ssize_t n = splice(p->r, NULL, to, NULL, p->held, FLAGS);
		if (n <= 0) {
			if (n == 0)
				errno = EAGAIN; /* (not seen: a socket takes bytes or says why not) */
			return errno == EINTR ? 0 : -1;
		}
		p->held -= (size_t)n;
		*passed += (unsigned long long)n;
	}
	return 0;
}
