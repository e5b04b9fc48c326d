/* client PORT...: one blocking connect to 127.0.0.1:PORT each, printing
 * "PORT refused", "PORT connected" or "PORT errno N". Plain POSIX, for
 * every libc and architecture of the bundle (t_cross, t_podman). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[i])) };
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
			printf("%s %s\n", argv[i], fd < 0 ? "no-socket" : "connected");
		else if (errno == ECONNREFUSED)
			printf("%s refused\n", argv[i]);
		else
			printf("%s errno %d\n", argv[i], errno);
		if (fd >= 0)
			close(fd);
	}
	return 0;
}
