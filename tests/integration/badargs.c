/* badargs PORT [PASS_PORT | errno]: connect() with bad arguments, and errno
 * across a successful connect. Prints one line a case: its return value and
 * errno. Run bare and preloaded (with a rule that refuses everything but
 * PASS_PORT, which the already-connected case connects to first): the
 * outputs must match. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void show(const char *label, int rc)
{
	printf("%-28s %d %s\n", label, rc, rc ? strerrorname_np(errno) : "-");
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1])) };
	inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
	struct sockaddr_in pass = in;
	if (argc > 2 && strcmp(argv[2], "errno") != 0)
		pass.sin_port = htons((uint16_t)atoi(argv[2]));
	if (argc > 2 && strcmp(argv[2], "errno") == 0) {
		/* A successful connect leaves errno as it was. */
		int s = socket(AF_INET, SOCK_STREAM, 0);
		errno = EXDEV;
		int rc = connect(s, (struct sockaddr *)&in, sizeof in);
		printf("success: %d errno %s\n", rc, strerrorname_np(errno));
		close(s);
		return 0;
	}
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6,
				    .sin6_addr = IN6ADDR_LOOPBACK_INIT,
				    .sin6_port = in.sin_port };
	struct sockaddr_storage big;
	memset(&big, 0, sizeof big);
	memcpy(&big, &in, sizeof in);
	struct sockaddr unknown = { .sa_family = AF_APPLETALK };
	struct sockaddr unspec = { .sa_family = AF_UNSPEC };
	int s;

	s = socket(AF_INET, SOCK_STREAM, 0);
	show("NULL address", connect(s, NULL, sizeof in));
	show("addrlen 0", connect(s, (struct sockaddr *)&in, 0));
	show("addrlen 1", connect(s, (struct sockaddr *)&in, 1));
	show("addrlen short", connect(s, (struct sockaddr *)&in, sizeof in - 1));
	show("addrlen > storage", connect(s, (struct sockaddr *)&big, sizeof big + 1));
	show("unknown family", connect(s, &unknown, sizeof unknown));
	show("v6 address on v4 socket", connect(s, (struct sockaddr *)&in6, sizeof in6));
	close(s);
	show("fd -1", connect(-1, (struct sockaddr *)&in, sizeof in));
	s = socket(AF_INET, SOCK_STREAM, 0);
	close(s);
	show("closed fd", connect(s, (struct sockaddr *)&in, sizeof in));
	int fd = open("/dev/null", O_RDONLY);
	show("non-socket fd", connect(fd, (struct sockaddr *)&in, sizeof in));
	close(fd);

	s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in any = { .sin_family = AF_INET };
	inet_pton(AF_INET, "127.0.0.1", &any.sin_addr);
	bind(s, (struct sockaddr *)&any, sizeof any);
	listen(s, 1);
	show("listening socket", connect(s, (struct sockaddr *)&in, sizeof in));
	close(s);

	s = socket(AF_INET, SOCK_DGRAM, 0);
	show("udp AF_UNSPEC", connect(s, &unspec, sizeof unspec));
	close(s);

	s = socket(AF_INET, SOCK_STREAM, 0);
	connect(s, (struct sockaddr *)&pass, sizeof pass);
	show("tcp already connected", connect(s, (struct sockaddr *)&in, sizeof in));
	show("tcp connected, same again", connect(s, (struct sockaddr *)&pass, sizeof pass));
	close(s);

	int pair[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, pair);
	struct sockaddr_un abstract = { .sun_family = AF_UNIX };
	memcpy(abstract.sun_path, "\0connrefuse-badargs-none", 25);
	socklen_t abstract_len = offsetof(struct sockaddr_un, sun_path) + 25;
	show("unix socketpair, connected", connect(pair[0], (struct sockaddr *)&abstract, abstract_len));
	close(pair[0]);
	close(pair[1]);

	s = socket(AF_UNIX, SOCK_STREAM, 0);
	show("unix abstract, no listener", connect(s, (struct sockaddr *)&abstract, abstract_len));
	show("unix addrlen = family only", connect(s, (struct sockaddr *)&abstract, sizeof(sa_family_t)));
	close(s);

	s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	memset(un.sun_path, 'x', sizeof un.sun_path);
	un.sun_path[0] = '/';
	show("unix 108 bytes, no NUL", connect(s, (struct sockaddr *)&un, sizeof un));
	show("unix addrlen > sockaddr_un", connect(s, (struct sockaddr *)&big, sizeof big));
	close(s);
	return 0;
}
