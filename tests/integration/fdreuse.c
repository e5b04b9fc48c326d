/* fdreuse MODE CLOSED1 CLOSED2: a non-blocking connect to 127.0.0.1:CLOSED1
 * is left in flight on descriptor X; then X is closed (MODE close or
 * close_range) or replaced with dup2 (MODE dup2), and a new socket that ends up with number X
 * is connected to 127.0.0.1:CLOSED2 by a raw system call (which the library
 * cannot see). Reading SO_ERROR on X must not be attributed to CLOSED1. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static struct sockaddr_in addr(int port)
{
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
	return in;
}

int main(int argc, char **argv)
{
	if (argc != 4)
		return 2;
	struct sockaddr_in a = addr(atoi(argv[2])), b = addr(atoi(argv[3]));
	int x = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	connect(x, (struct sockaddr *)&a, sizeof a); /* EINPROGRESS: in flight */
	int y;
	if (strcmp(argv[1], "close") == 0 || strcmp(argv[1], "close_range") == 0) {
		if (strcmp(argv[1], "close") == 0)
			close(x);
		else
			close_range((unsigned)x, ~0U, 0);
		y = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0); /* takes the lowest number: x */
	} else {
		y = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		syscall(SYS_connect, y, (struct sockaddr *)&b, sizeof b);
		dup2(y, x);
		close(y);
		y = x;
	}
	if (y != x) {
		printf("fd not reused\n");
		return 1;
	}
	if (strcmp(argv[1], "dup2") != 0)
		syscall(SYS_connect, y, (struct sockaddr *)&b, sizeof b);
	struct pollfd p = { .fd = y, .events = POLLOUT };
	poll(&p, 1, 2000);
	int err = 0;
	socklen_t len = sizeof err;
	getsockopt(y, SOL_SOCKET, SO_ERROR, &err, &len);
	printf("so_error on reused fd %d: %s\n", y, err ? strerrorname_np(err) : "0");
	return 0;
}
