/* hotpath PORT N: N socket+connect+close to a listener, counting the
 * allocations the whole process makes meanwhile (this program defines
 * malloc and friends, so the preloaded library's calls come here too).
 * Prints "allocations=A". */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

static atomic_long allocations;

void *malloc(size_t n)
{
	atomic_fetch_add(&allocations, 1);
	return __libc_malloc(n);
}
void *calloc(size_t a, size_t b)
{
	atomic_fetch_add(&allocations, 1);
	return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n)
{
	atomic_fetch_add(&allocations, 1);
	return __libc_realloc(p, n);
}
void free(void *p)
{
	__libc_free(p);
}

static void loop(const struct sockaddr_in *in, long n)
{
	struct linger lg = { 1, 0 };
	for (long i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(fd, (const struct sockaddr *)in, sizeof *in) == 0)
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
		close(fd);
	}
}

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1])) };
	inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
	loop(&in, 20); /* warm-up: first-time initialisations are not the hot path */
	long before = atomic_load(&allocations);
	loop(&in, atol(argv[2]));
	printf("allocations=%ld\n", atomic_load(&allocations) - before);
	return 0;
}
