/* What the library knows of each socket descriptor it saw being made:
 * family, type, blocking or not, and whether it is fresh (never connected,
 * not listening). It lets a simulated failure on a blocking socket be decided
 * without a single system call. The hooks keep it true: socket and accept
 * make an entry; fcntl(F_SETFL) and ioctl(FIONBIO) change the blocking mode;
 * connect, listen and accept end freshness; close, dup and dup2 forget. A
 * descriptor with no entry takes the slow path (the kernel is asked). */
#ifndef CR_FDINFO_H
#define CR_FDINFO_H

#include <stdbool.h>
#include <stdint.h>

struct cr_fdinfo {
	uint8_t known;      /* 0: no entry */
	uint8_t domain;     /* AF_INET, AF_INET6, AF_UNIX */
	uint8_t type;       /* SOCK_STREAM, SOCK_DGRAM, ... */
	uint8_t nonblock : 1, fresh : 1;
};

struct cr_fdinfo cr_fdinfo_get(int fd);
void cr_fdinfo_set(int fd, struct cr_fdinfo info);
void cr_fdinfo_forget(int fd);
void cr_fdinfo_forget_range(unsigned first, unsigned last);
void cr_fdinfo_set_nonblock(int fd, bool nonblock);
void cr_fdinfo_set_fresh(int fd, bool fresh);

#endif
