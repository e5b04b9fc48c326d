/* reload_watch PORT SECONDS FLAGFILE: connects to 127.0.0.1:PORT every 10
 * ms (100 a second) for SECONDS, timing each connect(); prints the worst
 * connect in microseconds, the count of connects, the realtime second (as
 * a float) of the first connect refused, or 0, and how long that connect
 * took in microseconds (the library reloads inside the connect that
 * notices the change, and decides it with the new rules: when those refuse
 * the port, the first refused connect is the one that reloaded). FLAGFILE
 * is created once the first connect is made (the caller then swaps the
 * rules). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc != 4)
		return 2;
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1])) };
	inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
	double end = now(CLOCK_MONOTONIC) + atof(argv[2]), worst = 0, refused_at = 0, reloading = 0;
	struct linger lg = { 1, 0 };
	long n = 0;
	while (now(CLOCK_MONOTONIC) < end) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		double a = now(CLOCK_MONOTONIC);
		int rc = connect(fd, (struct sockaddr *)&in, sizeof in);
		double t = now(CLOCK_MONOTONIC) - a;
		if (rc != 0 && errno == ECONNREFUSED && !refused_at) {
			refused_at = now(CLOCK_REALTIME);
			reloading = t;
		}
		if (rc == 0)
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
		close(fd);
		if (t > worst)
			worst = t;
		if (n++ == 0)
			close(open(argv[3], O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
		usleep(10000);
	}
	printf("%.0f %ld %.3f %.0f\n", worst * 1e6, n, refused_at, reloading * 1e6);
	return 0;
}
