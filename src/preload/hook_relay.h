/* Faults after connect, the library's side (hook_relay.c): a connect sent
 * through a relay (connrefuse run's, or the service's), and the original destination kept
 * for getpeername(). */
#ifndef CR_HOOK_RELAY_H
#define CR_HOOK_RELAY_H

#include "engine/decide.h"

#include <sys/socket.h>

struct cr_relay_req {
	int fd, domain; /* the program's socket, and its family */
	const struct sockaddr *sa;
	socklen_t len;
	const struct cr_verdict *v; /* a verdict with relay set */
	const char *rule, *host;    /* for the relay's line; NULL: none */
	const struct cr_log_conf *log;
	const char *socket; /* the rules' relay.socket ("" = none): CR_RELAY_ENV first */
};

/* 1: the socket was connected to the relay (or its connect failed as the
 * kernel said): *ret and errno are what the program sees. 0: the
 * connection passes untouched (the destination failed, so the real
 * connect gets the kernel's own answer; or no relay), errno kept. */
int cr_relay_divert(const struct cr_relay_req *q, int *ret);

#endif
