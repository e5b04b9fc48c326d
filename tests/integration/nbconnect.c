/* nbconnect ADDR PORT [v6only] [again] [retry PORT2]: one non-blocking
 * connect, and everything the program can observe of its outcome, one fact a
 * line: connect's return and errno, poll revents, SO_ERROR read twice (or,
 * with again, a second connect() to the same address instead, as some
 * runtimes do), getpeername, and a blocking retry to PORT2.
 * The same output under a simulated refusal as under a real one is the test.
 * ADDR may be 127.0.0.1, ::1 or ::ffff:127.0.0.1 (an AF_INET6 socket). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *name(int e)
{
	return e ? strerrorname_np(e) : "0";
}

static void revents(short r)
{
	printf("poll:");
	if (r & POLLIN)
		printf(" IN");
	if (r & POLLOUT)
		printf(" OUT");
	if (r & POLLERR)
		printf(" ERR");
	if (r & POLLHUP)
		printf(" HUP");
	if (r & POLLRDHUP)
		printf(" RDHUP");
	printf("\n");
}

static socklen_t make_addr(const char *a, int port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof *ss);
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, a, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		return sizeof *in;
	}
	if (inet_pton(AF_INET6, a, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		return sizeof *in6;
	}
	fprintf(stderr, "bad address %s\n", a);
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	struct sockaddr_storage ss;
	socklen_t len = make_addr(argv[1], atoi(argv[2]), &ss);
	int v6only = 0, again = 0;
	for (int i = 3; i < argc; i++) {
		v6only |= strcmp(argv[i], "v6only") == 0;
		again |= strcmp(argv[i], "again") == 0;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (v6only) {
		int one = 1;
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	}
	errno = 0;
	int rc = connect(fd, (struct sockaddr *)&ss, len);
	printf("connect: %d %s\n", rc, rc ? name(errno) : "0");
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT | POLLRDHUP };
	int n = poll(&p, 1, 2000);
	printf("ready: %d\n", n);
	revents(p.revents);
	if (again) {
		errno = 0;
		rc = connect(fd, (struct sockaddr *)&ss, len);
		printf("connect again: %d %s\n", rc, rc ? name(errno) : "0");
	}
	for (int i = 0; i < 2; i++) {
		int err = -1;
		socklen_t elen = sizeof err;
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen);
		printf("so_error: %s\n", name(err));
	}
	struct sockaddr_storage peer;
	socklen_t plen = sizeof peer;
	rc = getpeername(fd, (struct sockaddr *)&peer, &plen);
	printf("getpeername: %d %s\n", rc, rc ? name(errno) : "0");
	for (int i = 3; i + 1 < argc; i++) {
		if (strcmp(argv[i], "retry") != 0)
			continue;
		len = make_addr(argv[1], atoi(argv[i + 1]), &ss);
		fcntl(fd, F_SETFL, 0);
		errno = 0;
		rc = connect(fd, (struct sockaddr *)&ss, len);
		printf("retry connect: %d %s\n", rc, rc ? name(errno) : "0");
	}
	close(fd);
	return 0;
}
