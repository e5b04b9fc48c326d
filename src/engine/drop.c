#define _GNU_SOURCE
#include "drop.h"
#include "sys.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* [0] IPv4 (127.0.0.1), [1] IPv6 (::1). state: 0 none, 1 being made, 2 ready. */
static struct {
	atomic_int state;
	atomic_int fd;
	uint16_t port; /* kept when the listener is made again */
} listeners[2];

static socklen_t loopback(int af, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof *ss);
	if (af == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof *in;
	}
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(port);
	in6->sin6_addr = in6addr_loopback;
	return sizeof *in6;
}

int cr_drop_listener_make(int af, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback(af, *port, &ss);
	int one = 1;
	int s = cr_socket(af, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	syscall(SYS_setsockopt, s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (syscall(SYS_bind, s, &ss, len) != 0 || cr_listen(s, 0) != 0 || syscall(SYS_getsockname, s, &ss, &len) != 0)
		goto fail;
	*port = ntohs(af == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port : ((struct sockaddr_in6 *)&ss)->sin6_port);
	int c = cr_socket(af, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c < 0)
		goto fail;
	int rc = cr_connect(c, (struct sockaddr *)&ss, len);
	struct pollfd pf = { c, POLLOUT, 0 };
	/* Loopback completes the handshake at once; a bounded wait all the same. */
	if (rc != 0 && errno == EINPROGRESS)
		syscall(SYS_ppoll, &pf, 1, &(struct timespec){ 1, 0 }, NULL, 0);
	cr_close(c);
	return s;
fail:
	cr_close(s);
	return -1;
}

/* The listener of slot i, made if need be; -1 if it cannot be. */
static int listener(int i)
{
	int af = i ? AF_INET6 : AF_INET;
	for (int spins = 0; spins < 1000000; spins++) {
		int st = atomic_load(&listeners[i].state);
		if (st == 2)
			return atomic_load(&listeners[i].fd);
		int none = 0;
		if (st == 0 && atomic_compare_exchange_strong(&listeners[i].state, &none, 1)) {
			uint16_t port = listeners[i].port;
			int fd = cr_drop_listener_make(af, &port);
			if (fd < 0 && port) /* its port is taken now: any other */
				port = 0, fd = cr_drop_listener_make(af, &port);
			if (fd < 0) {
				atomic_store(&listeners[i].state, 0);
				return -1;
			}
			listeners[i].port = port;
			atomic_store(&listeners[i].fd, fd);
			atomic_store(&listeners[i].state, 2);
			return fd;
		}
	}
	return -1; /* another thread is making it, for longer than a listener takes */
}

socklen_t cr_drop_address_at(const struct cr_dest *d, int sa_family, uint16_t port, struct sockaddr_storage *out)
{
	socklen_t len = cr_sink_address(d, sa_family, out);
	if (out->ss_family == AF_INET)
		((struct sockaddr_in *)out)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)out)->sin6_port = htons(port);
	return len;
}

socklen_t cr_drop_address(const struct cr_dest *d, int sa_family, struct sockaddr_storage *out)
{
	int i = d->family == CR_FAM_INET6 ? 1 : 0;
	if (listener(i) < 0)
		return 0;
	return cr_drop_address_at(d, sa_family, listeners[i].port, out);
}

void cr_drop_closed(unsigned first, unsigned last)
{
	for (int i = 0; i < 2; i++) {
		if (atomic_load(&listeners[i].state) != 2)
			continue;
		int fd = atomic_load(&listeners[i].fd);
		if (fd < 0 || (unsigned)fd < first || (unsigned)fd > last)
			continue;
		int ready = 2;
		if (atomic_compare_exchange_strong(&listeners[i].state, &ready, 0))
			listener(i); /* at once, on the same port: what it held hangs on */
	}
}

void cr_drop_after_fork(void)
{
	for (int i = 0; i < 2; i++)
		if (atomic_load(&listeners[i].state) == 1)
			atomic_store(&listeners[i].state, 0);
}
