/* whoconnects PORT: prints "euid=E preloaded=yes|no result=connected|ERRNO"
 * for one blocking connect to 127.0.0.1:PORT. For the setuid test. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1])) };
	inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int rc = connect(fd, (struct sockaddr *)&in, sizeof in);
	const char *result = rc == 0 ? "connected" : strerrorname_np(errno);
	printf("euid=%d preloaded=%s result=%s\n", (int)geteuid(),
	       dlsym(RTLD_DEFAULT, "connrefuse_version") ? "yes" : "no", result);
	return 0;
}
