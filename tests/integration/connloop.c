/* connloop ADDR PORT N [seq]: N blocking socket+connect+close, counting
 * outcomes and the slowest connect() call: "refused=R connected=C other=O
 * max_ms=M". With seq, first a line of the outcomes in order: R refused,
 * c connected, x other. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	int seq = argc > 4 && strcmp(argv[4], "seq") == 0;
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2])) };
	inet_pton(AF_INET, argv[1], &in.sin_addr);
	long n = atol(argv[3]), refused = 0, connected = 0, other = 0;
	double max = 0;
	for (long i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		double t0 = now_ms();
		int rc = connect(fd, (struct sockaddr *)&in, sizeof in);
		double dt = now_ms() - t0;
		if (dt > max)
			max = dt;
		char c;
		if (rc == 0) {
			connected++;
			c = 'c';
		} else if (errno == ECONNREFUSED) {
			refused++;
			c = 'R';
		} else {
			other++;
			c = 'x';
		}
		if (seq)
			putchar(c);
		close(fd);
	}
	if (seq)
		putchar('\n');
	printf("refused=%ld connected=%ld other=%ld max_ms=%.1f\n", refused, connected, other, max);
	return 0;
}
