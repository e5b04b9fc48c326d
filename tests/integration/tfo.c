/* tfo ADDR PORT: a TCP Fast Open connect, sendto(MSG_FASTOPEN) on a blocking
 * socket, then the same through sendmsg on a new socket. Prints each result. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2])) };
	inet_pton(AF_INET, argv[1], &in.sin_addr);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ssize_t n = sendto(fd, "hi", 2, MSG_FASTOPEN, (struct sockaddr *)&in, sizeof in);
	printf("sendto: %zd %s\n", n, n < 0 ? strerrorname_np(errno) : "0");
	close(fd);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	struct iovec iov = { .iov_base = "hi", .iov_len = 2 };
	struct msghdr m = { .msg_name = &in, .msg_namelen = sizeof in, .msg_iov = &iov, .msg_iovlen = 1 };
	n = sendmsg(fd, &m, MSG_FASTOPEN);
	printf("sendmsg: %zd %s\n", n, n < 0 ? strerrorname_np(errno) : "0");
	close(fd);
	return 0;
}
