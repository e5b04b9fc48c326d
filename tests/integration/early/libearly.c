/* libearly.so: a library whose constructor connects before main, and before
 * a preloaded connrefuse's own constructor has run (the program needs it,
 * so the loader initialises it first). EARLY_PORTS="P Q": one blocking
 * connect to 127.0.0.1 at each, printed as "early P: connected" or the
 * errno's name. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

__attribute__((constructor)) static void early_connects(void)
{
	const char *ports = getenv("EARLY_PORTS");
	char *end;
	for (long port; ports && (port = strtol(ports, &end, 10)) > 0; ports = end) {
		struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
		inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		int rc = connect(fd, (struct sockaddr *)&in, sizeof in);
		printf("early %ld: %s\n", port, rc == 0 ? "connected" : strerrorname_np(errno));
		close(fd);
	}
	fflush(stdout);
}

void early_linked(void)
{
}
