/* errnokeep PORT: every interposed function, on a path where it succeeds,
 * with errno preset to EXDEV: errno must still be EXDEV afterwards. PORT is
 * a loopback TCP listener. One line a call: "NAME ok", or what went wrong. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int failures;

#define KEEP(name, call, ok_cond)                                                       \
	do {                                                                            \
		errno = EXDEV;                                                          \
		long r_ = (long)(call);                                                 \
		int e_ = errno;                                                         \
		if (!(ok_cond)) {                                                       \
			printf("%s failed (%ld, %s)\n", name, r_, strerrorname_np(e_)); \
			failures++;                                                     \
		} else if (e_ != EXDEV) {                                               \
			printf("%s changed errno to %s\n", name, strerrorname_np(e_));  \
			failures++;                                                     \
		} else {                                                                \
			printf("%s ok\n", name);                                        \
		}                                                                       \
	} while (0)

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1])) };
	inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
	int s, t, u;

	KEEP("socket", s = socket(AF_INET, SOCK_STREAM, 0), r_ >= 0);
	KEEP("connect", connect(s, (struct sockaddr *)&in, sizeof in), r_ == 0);
	int err = -1;
	socklen_t len = sizeof err;
	KEEP("getsockopt SO_ERROR", getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len), r_ == 0 && err == 0);
	KEEP("dup", t = dup(s), r_ >= 0);
	KEEP("dup2", dup2(s, t), r_ == t);
	KEEP("dup3", dup3(s, t, O_CLOEXEC), r_ == t);
	KEEP("close", close(t), r_ == 0);
	KEEP("close (connected)", close(s), r_ == 0);

	KEEP("socket (non-blocking)", s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), r_ >= 0);
	errno = EXDEV;
	if (connect(s, (struct sockaddr *)&in, sizeof in) != 0 && errno == EINPROGRESS) {
		struct pollfd p = { .fd = s, .events = POLLOUT };
		poll(&p, 1, 5000);
	}
	len = sizeof err;
	KEEP("getsockopt SO_ERROR after EINPROGRESS", getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len),
	     r_ == 0 && err == 0);
	KEEP("close (non-blocking)", close(s), r_ == 0);

	s = socket(AF_INET, SOCK_STREAM, 0);
	KEEP("fcntl F_SETFL O_NONBLOCK", fcntl(s, F_SETFL, O_NONBLOCK), r_ == 0);
	KEEP("fcntl F_GETFL", fcntl(s, F_GETFL), r_ >= 0);
	int off = 0;
	KEEP("ioctl FIONBIO", ioctl(s, FIONBIO, &off), r_ == 0);
	struct sockaddr_in any = { .sin_family = AF_INET };
	inet_pton(AF_INET, "127.0.0.1", &any.sin_addr);
	bind(s, (struct sockaddr *)&any, sizeof any);
	KEEP("listen", listen(s, 4), r_ == 0);
	len = sizeof any;
	getsockname(s, (struct sockaddr *)&any, &len);
	t = socket(AF_INET, SOCK_STREAM, 0);
	connect(t, (struct sockaddr *)&any, sizeof any);
	KEEP("accept", u = accept(s, NULL, NULL), r_ >= 0);
	close(u);
	close(t);
	t = socket(AF_INET, SOCK_STREAM, 0);
	connect(t, (struct sockaddr *)&any, sizeof any);
	KEEP("accept4", u = accept4(s, NULL, NULL, SOCK_CLOEXEC), r_ >= 0);
	close(u);
	close(t);
	close(s);

	KEEP("socket (udp)", s = socket(AF_INET, SOCK_DGRAM, 0), r_ >= 0);
	KEEP("sendto (udp)", sendto(s, "x", 1, 0, (struct sockaddr *)&in, sizeof in), r_ == 1);
	struct iovec iov = { "x", 1 };
	struct msghdr mh = { .msg_name = &in, .msg_namelen = sizeof in, .msg_iov = &iov, .msg_iovlen = 1 };
	KEEP("sendmsg (udp)", sendmsg(s, &mh, 0), r_ == 1);
	KEEP("connect (udp)", connect(s, (struct sockaddr *)&in, sizeof in), r_ == 0);
	close(s);

	int ls = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	snprintf(un.sun_path, sizeof un.sun_path, "%cconnrefuse-errnokeep-%d", 0, (int)getpid());
	socklen_t ulen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(un.sun_path + 1));
	bind(ls, (struct sockaddr *)&un, ulen);
	listen(ls, 1);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	KEEP("connect (unix)", connect(s, (struct sockaddr *)&un, ulen), r_ == 0);
	close(s);
	close(ls);

	struct addrinfo *ai = NULL, hints = { .ai_socktype = SOCK_STREAM };
	KEEP("getaddrinfo", getaddrinfo("localhost", "80", &hints, &ai), r_ == 0);
	KEEP("freeaddrinfo", (freeaddrinfo(ai), 0), 1);
	KEEP("gethostbyname", gethostbyname("localhost"), r_ != 0);
	KEEP("gethostbyname2", gethostbyname2("localhost", AF_INET), r_ != 0);
	struct hostent he, *res = NULL;
	char buf[1024];
	int herr;
	KEEP("gethostbyname_r", gethostbyname_r("localhost", &he, buf, sizeof buf, &res, &herr), r_ == 0 && res);

	s = socket(AF_INET, SOCK_STREAM, 0);
	t = socket(AF_INET, SOCK_STREAM, 0);
	KEEP("close_range", close_range((unsigned)(s < t ? s : t), (unsigned)(s < t ? t : s), 0), r_ == 0);
	printf("%s\n", failures ? "errno changed or a call failed" : "errno kept on every success path");
	return failures != 0;
}
