/* relay_pair: a loopback sender/receiver pair for the relay's rows of
 * make bench, one figure printed by each client:
 *   relay_pair serve PORTFILE   a server (a thread a connection): a first
 *                               byte 'p' echoes each byte back, 's' answers
 *                               each two bytes with one; 'd' then 8
 *                               bytes (a count) sends that many bytes and
 *                               closes
 *   relay_pair ping PORT N      N one-byte round trips (after 200 unmeasured):
 *                               the median in microseconds
 *   relay_pair split PORT N     the same with each request written in two
 *                               one-byte writes 300 us apart (a header, then
 *                               a body): a relay with Nagle's algorithm on
 *                               holds the second until the first is
 *                               acknowledged, a delayed ACK (40 ms) here
 *   relay_pair down PORT BYTES  BYTES downloaded: MB (10^6 bytes) a second,
 *                               from the ask to the end of file
 *   relay_pair forward PORTFILE PORT
 *                               the least a user-space relay can be: each
 *                               connection forwarded to PORT by a thread a
 *                               direction, blocking read then write (the
 *                               floor the relay's round trip is compared to)
 * Every socket has TCP_NODELAY, as request/answer programs set it. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (1 << 20)

static const char *forward_port;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void nodelay(int fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static int read_all(int fd, void *p, size_t n)
{
	for (size_t got = 0; got < n;) {
		ssize_t r = read(fd, (char *)p + got, n - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static int write_all(int fd, const void *p, size_t n)
{
	for (size_t done = 0; done < n;) {
		ssize_t w = send(fd, (const char *)p + done, n - done, MSG_NOSIGNAL);
		if (w <= 0)
			return -1;
		done += (size_t)w;
	}
	return 0;
}

static void *serve_one(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char c;
	nodelay(fd);
	char two[2];
	if (read_all(fd, &c, 1) == 0 && c == 'p') {
		while (read(fd, &c, 1) == 1 && write(fd, &c, 1) == 1)
			;
	} else if (c == 's') {
		while (read_all(fd, two, 2) == 0 && write(fd, two, 1) == 1)
			;
	} else if (c == 'd') {
		uint64_t left;
		static char buf[CHUNK];
		if (read_all(fd, &left, sizeof left) == 0)
			while (left) {
				size_t n = left < CHUNK ? (size_t)left : CHUNK;
				if (write_all(fd, buf, n) != 0)
					break;
				left -= n;
			}
	}
	close(fd);
	return NULL;
}

struct pass {
	int from, to;
};

static void *pass_on(void *arg)
{
	struct pass *p = arg;
	static __thread char buf[CHUNK];
	ssize_t n;
	while ((n = read(p->from, buf, CHUNK)) > 0 && write_all(p->to, buf, (size_t)n) == 0)
		;
	shutdown(p->to, SHUT_WR);
	return NULL;
}

static int dial(const char *port);

/* One connection of forward: both directions, then both sockets closed. */
static void *forward_one(void *arg)
{
	int fd = (int)(intptr_t)arg, up = dial(forward_port);
	struct pass in = { up, fd }, out = { fd, up };
	pthread_t t;
	nodelay(fd);
	if (pthread_create(&t, NULL, pass_on, &out) != 0)
		return NULL;
	pass_on(&in);
	pthread_join(t, NULL);
	close(fd);
	close(up);
	return NULL;
}

static int serve(const char *portfile, void *(*one)(void *))
{
	struct sockaddr_in in = { .sin_family = AF_INET };
	socklen_t len = sizeof in;
	inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
	int l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&in, sizeof in) != 0 || listen(l, 64) != 0 ||
	    getsockname(l, (struct sockaddr *)&in, &len) != 0)
		return 1;
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", portfile);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return 1;
	fprintf(f, "%d\n", ntohs(in.sin_port));
	fclose(f);
	rename(tmp, portfile);
	for (;;) {
		int fd = accept(l, NULL, NULL);
		pthread_t t;
		if (fd >= 0 && pthread_create(&t, NULL, one, (void *)(intptr_t)fd) == 0)
			pthread_detach(t);
		else if (fd >= 0)
			close(fd);
	}
}

static int dial(const char *port)
{
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)) };
	inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&in, sizeof in) != 0) {
		perror("relay_pair: connect");
		exit(1);
	}
	nodelay(fd);
	return fd;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static int ping(const char *port, long n, char kind)
{
	int fd = dial(port);
	double *t = malloc(sizeof *t * (size_t)n);
	char c = kind;
	if (!t || write_all(fd, &c, 1) != 0)
		return 1;
	for (long i = -200; i < n; i++) {
		double a = now_s();
		int rc = write_all(fd, &c, 1);
		if (kind == 's' && rc == 0) {
			usleep(300);
			rc = write_all(fd, &c, 1);
		}
		if (rc != 0 || read_all(fd, &c, 1) != 0) {
			fprintf(stderr, "relay_pair: the echo ended\n");
			return 1;
		}
		if (i >= 0)
			t[i] = (now_s() - a) * 1e6;
	}
	qsort(t, (size_t)n, sizeof *t, cmp_double);
	printf("%.2f\n", t[n / 2]);
	return 0;
}

static int down(const char *port, uint64_t bytes)
{
	int fd = dial(port);
	char *buf = malloc(CHUNK);
	char ask[1 + sizeof bytes] = { 'd' };
	memcpy(ask + 1, &bytes, sizeof bytes);
	double a = now_s();
	if (!buf || write_all(fd, ask, sizeof ask) != 0)
		return 1;
	uint64_t got = 0;
	ssize_t r;
	while ((r = read(fd, buf, CHUNK)) > 0)
		got += (uint64_t)r;
	double secs = now_s() - a;
	if (got != bytes) {
		fprintf(stderr, "relay_pair: %llu bytes of %llu\n", (unsigned long long)got, (unsigned long long)bytes);
		return 1;
	}
	printf("%.1f\n", bytes / secs / 1e6);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "serve") == 0)
		return serve(argv[2], serve_one);
	if (argc == 4 && strcmp(argv[1], "forward") == 0) {
		forward_port = argv[3];
		return serve(argv[2], forward_one);
	}
	if (argc == 4 && strcmp(argv[1], "ping") == 0)
		return ping(argv[2], atol(argv[3]), 'p');
	if (argc == 4 && strcmp(argv[1], "split") == 0)
		return ping(argv[2], atol(argv[3]), 's');
	if (argc == 4 && strcmp(argv[1], "down") == 0)
		return down(argv[2], strtoull(argv[3], NULL, 10));
	fprintf(stderr,
		"usage: relay_pair serve PORTFILE | forward PORTFILE PORT | ping|split PORT N | down PORT BYTES\n");
	return 2;
}
