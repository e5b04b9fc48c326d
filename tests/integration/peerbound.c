/* peerbound PORT HELD CYCLES [dup2 | dup | again PORT2]: what getpeername() says of relayed
 * sockets when more are relayed than the tables that answer it hold (the
 * library's, 256 a process; run --seccomp's supervisor's, 1,024).
 *
 * HELD connections to 127.0.0.1:PORT are made and kept open, then CYCLES
 * more one after another, each asked getpeername() and closed: with
 * close(), or with "dup2", by dup2() of /dev/null onto its descriptor (the
 * socket closed without a close() the library sees). Then each held one is
 * asked again; with "dup", each held one is first dup()ed and the
 * original closed; with "again", each held one is first disconnected
 * (connect() to AF_UNSPEC) and connected to 127.0.0.1:PORT2 instead, and
 * PORT2 is the destination then. Prints:
 *   cycles: N of CYCLES answered 127.0.0.1:PORT
 *   held: N of HELD answered 127.0.0.1:PORT; other: I J ... (their indexes, from 0)
 * Built statically too (static-peerbound), for run --seccomp. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct sockaddr_in dst;

static int connected(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&dst, sizeof dst) != 0) {
		fprintf(stderr, "connect: %s\n", strerror(errno));
		exit(1);
	}
	return fd;
}

/* Whether getpeername() on fd answers the destination. */
static int answers_dst(int fd)
{
	struct sockaddr_in peer;
	socklen_t len = sizeof peer;
	return getpeername(fd, (struct sockaddr *)&peer, &len) == 0 && len == sizeof peer &&
	       peer.sin_port == dst.sin_port && peer.sin_addr.s_addr == dst.sin_addr.s_addr;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: peerbound PORT HELD CYCLES [dup2]\n");
		return 2;
	}
	dst = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1])) };
	inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
	int held = atoi(argv[2]), cycles = atoi(argv[3]);
	const char *how = argc > 4 ? argv[4] : "";
	int by_dup2 = strcmp(how, "dup2") == 0;
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int *fds = calloc((size_t)held + 1, sizeof *fds);
	if (!fds || null < 0)
		return 1;
	for (int i = 0; i < held; i++)
		fds[i] = connected();
	int right = 0;
	for (int i = 0; i < cycles; i++) {
		int fd = connected();
		right += answers_dst(fd);
		if (by_dup2) {
			dup2(null, fd);
			close(fd); /* /dev/null's copy: the socket is gone already */
		} else {
			close(fd);
		}
	}
	printf("cycles: %d of %d answered 127.0.0.1:%s\n", right, cycles, argv[1]);
	for (int i = 0; i < held && strcmp(how, "dup") == 0; i++) {
		int fd = dup(fds[i]);
		close(fds[i]);
		fds[i] = fd;
	}
	if (strcmp(how, "again") == 0 && argc > 5) {
		struct sockaddr unspec = { .sa_family = AF_UNSPEC };
		argv[1] = argv[5];
		dst.sin_port = htons((uint16_t)atoi(argv[5]));
		for (int i = 0; i < held; i++)
			if (connect(fds[i], &unspec, sizeof unspec) != 0 ||
			    connect(fds[i], (struct sockaddr *)&dst, sizeof dst) != 0)
				fprintf(stderr, "connect again: %s\n", strerror(errno));
	}
	right = 0;
	char other[4096] = "";
	size_t at = 0;
	for (int i = 0; i < held; i++) {
		if (answers_dst(fds[i]))
			right++;
		else if (at < sizeof other - 16)
			at += (size_t)snprintf(other + at, sizeof other - at, " %d", i);
	}
	printf("held: %d of %d answered 127.0.0.1:%s; other:%s\n", right, held, argv[1], at ? other : " none");
	return 0;
}
