/* action = "drop": connects that hang, made by the kernel, for both front
 * ends (the library's process, or the seccomp supervisor, holds them). A loopback
 * listener with a backlog of 0 whose accept queue is already full drops
 * every further SYN, exactly as a firewall's DROP: a non-blocking connect
 * stays in progress, a blocking one waits for SO_SNDTIMEO,
 * TCP_USER_TIMEOUT or the SYN retries. One listener per family (127.0.0.1,
 * ::1), made at the first drop, close-on-exec; closed by the program
 * (close, dup2, dup3, close_range), it is made again at once on the same
 * port, so that the connects it holds keep hanging. */
#ifndef CR_DROP_H
#define CR_DROP_H

#include "addr.h"

#include <stdbool.h>
#include <sys/socket.h>

/* The address a dropped connect goes to, in the form the program used
 * (sa_family, and a v4-mapped destination on an AF_INET6 socket); its
 * length, or 0 when no listener can be made (no descriptor left, say). */
socklen_t cr_drop_address(const struct cr_dest *d, int sa_family, struct sockaddr_storage *out);
/* The same for the listener on loopback port `port` (one of the family's). */
socklen_t cr_drop_address_at(const struct cr_dest *d, int sa_family, uint16_t port, struct sockaddr_storage *out);
/* A listener on loopback port *port (0: any; *port gets the one it got),
 * in the calling thread's network namespace, whose one-slot accept queue
 * is filled by a connection of ours, then left: every later SYN to it is
 * dropped. Its descriptor, or -1. */
int cr_drop_listener_make(int af, uint16_t *port);
/* After the program closed or replaced descriptors first..last: a
 * listener among them is made again. */
void cr_drop_closed(unsigned first, unsigned last);
/* In a forked child: a listener being made by another thread is not. */
void cr_drop_after_fork(void);

#endif
