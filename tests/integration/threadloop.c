/* threadloop ADDR PORT THREADS COUNT|SECONDSs: THREADS threads, each making
 * blocking socket+connect+close to ADDR:PORT, COUNT times each, or for that
 * many seconds ("3s"). Prints "refused=R connected=C other=O". */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in dst = { .sin_family = AF_INET };
static long count;
static double seconds;
static atomic_long refused, connected, other;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *worker(void *arg)
{
	(void)arg;
	double end = now() + seconds;
	for (long i = 0; count ? i < count : now() < end; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		int rc = connect(fd, (struct sockaddr *)&dst, sizeof dst);
		if (rc == 0) {
			/* Reset rather than linger in TIME_WAIT. */
			struct linger l = { 1, 0 };
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
			atomic_fetch_add(&connected, 1);
		} else if (errno == ECONNREFUSED) {
			atomic_fetch_add(&refused, 1);
		} else {
			atomic_fetch_add(&other, 1);
		}
		close(fd);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 5)
		return 2;
	inet_pton(AF_INET, argv[1], &dst.sin_addr);
	dst.sin_port = htons((uint16_t)atoi(argv[2]));
	int n = atoi(argv[3]);
	if (strchr(argv[4], 's'))
		seconds = atof(argv[4]);
	else
		count = atol(argv[4]);
	pthread_t t[64];
	for (int i = 0; i < n && i < 64; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	for (int i = 0; i < n && i < 64; i++)
		pthread_join(t[i], NULL);
	printf("refused=%ld connected=%ld other=%ld\n", atomic_load(&refused), atomic_load(&connected),
	       atomic_load(&other));
	return 0;
}
