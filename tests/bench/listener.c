/* listener PORTFILE: a loopback TCP server for the benchmarks. Accepts and
 * closes as fast as it can, so connects never wait on a full backlog. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in in = { .sin_family = AF_INET };
	inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
	if (bind(s, (struct sockaddr *)&in, sizeof in) != 0 || listen(s, 4096) != 0)
		return 1;
	socklen_t len = sizeof in;
	getsockname(s, (struct sockaddr *)&in, &len);
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", argv[1]);
	FILE *f = fopen(tmp, "w");
	fprintf(f, "%d\n", ntohs(in.sin_port));
	fclose(f);
	rename(tmp, argv[1]);
	for (;;) {
		int c = accept(s, NULL, NULL);
		if (c >= 0)
			close(c);
	}
}
