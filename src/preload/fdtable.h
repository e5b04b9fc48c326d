/* What the library knows of each descriptor, in one table indexed by the
 * descriptor number (up to CR_FD_MAX): no allocation, no lock, pages
 * touched only for the numbers a program uses.
 *
 * - The socket, as the hooks saw it made: family, type, blocking or not,
 *   and whether it is fresh (never connected, not listening). It lets a
 *   simulated failure on a blocking socket be decided without a single
 *   system call. socket and accept make it; fcntl(F_SETFL) and
 *   ioctl(FIONBIO) change the blocking mode; connect, listen and accept
 *   end freshness; close, dup and dup2 forget it. A descriptor with no
 *   entry takes the slow path (the kernel is asked).
 * - The connect in flight: what a non-blocking connect aimed at, so that
 *   its outcome, learned later through getsockopt(SO_ERROR) or a repeated
 *   connect(), is logged with its destination, once; and so that a
 *   simulated errno other than a refusal reaches the program. A slot is
 *   claimed with an atomic state, so one thread reports an outcome once.
 *
 * A connect reads its descriptor's entry once (cr_fd_look); a number that
 * is closed, replaced or made anew forgets both parts. */
#ifndef CR_FDTABLE_H
#define CR_FDTABLE_H

#include "engine/addr.h"
#include "engine/inflight.h"

#include <stdbool.h>
#include <stdint.h>

#define CR_FD_MAX 65536

struct cr_sockinfo {
	uint8_t known;  /* 0: no entry */
	uint8_t domain; /* AF_INET, AF_INET6, AF_UNIX */
	uint8_t type;   /* SOCK_STREAM, SOCK_DGRAM, ... */
	uint8_t nonblock : 1, fresh : 1;
};

/* One read of a descriptor's entry: the socket, and whether a connect may
 * be in flight on it. */
struct cr_fd_view {
	struct cr_sockinfo sock;
	bool pending;
};
struct cr_fd_view cr_fd_look(int fd);

/* ---- the socket ---- */
/* A socket was made with this number (socket, accept): a new entry, and no
 * connect in flight. */
void cr_fd_made(int fd, struct cr_sockinfo info);
/* The number was closed or replaced: forget it. */
void cr_fd_forget(int fd);
void cr_fd_forget_range(unsigned first, unsigned last);
/* The socket now has two numbers (dup): the kernel is asked from now on. */
void cr_fd_shared(int fd);
void cr_fd_set_nonblock(int fd, bool nonblock);
void cr_fd_set_fresh(int fd, bool fresh);

/* ---- the connect in flight ---- */
void cr_fd_pending_set(int fd, const struct cr_inflight *f);
/* Takes the record of fd (it is cleared): true if there was one. Only one
 * caller gets it. */
bool cr_fd_pending_take(int fd, struct cr_inflight *out);
/* Looks without taking. */
bool cr_fd_pending_peek(int fd, struct cr_inflight *out);
void cr_fd_pending_clear(int fd);
/* Cheap test, for the hooks' fast paths. */
bool cr_fd_pending_maybe(int fd);

#endif
