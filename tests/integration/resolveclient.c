/* resolveclient NAME: looks NAME up through every resolver entry point a
 * program may use and prints what it can observe, one line each, then the
 * elapsed milliseconds of the whole: for comparing a real DNS failure
 * (dnsmasq behind a private resolv.conf) with a host rule's. errno is set
 * to a sentinel (EDOM) before each call, so "unchanged" is seen as such. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static const char *errno_text(int e)
{
	static char buf[32];
	if (e == EDOM)
		return "unchanged";
	const char *name = strerrorname_np(e);
	if (name)
		return name;
	snprintf(buf, sizeof buf, "%d", e);
	return buf;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void hostent_line(const char *what, int rc, const struct hostent *h, int herr, int err)
{
	printf("%s: rc=%d result=%s h_errno=%d errno=%s\n", what, rc, h ? "found" : "null", h ? 0 : herr,
	       errno_text(err));
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	const char *name = argv[1];
	double start = now_ms();

	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	errno = EDOM;
	int rc = getaddrinfo(name, "80", &hints, &res);
	int err = errno;
	printf("getaddrinfo: %d (%s) errno=%s\n", rc, rc ? gai_strerror(rc) : "ok", errno_text(err));
	if (!rc)
		freeaddrinfo(res);

	struct hostent hb, *h = NULL;
	char buf[4096];
	int herr = 0;
	errno = EDOM;
	rc = gethostbyname_r(name, &hb, buf, sizeof buf, &h, &herr);
	err = errno;
	hostent_line("gethostbyname_r", rc, h, herr, err);

	errno = EDOM;
	herr = 0;
	rc = gethostbyname2_r(name, AF_INET6, &hb, buf, sizeof buf, &h, &herr);
	err = errno;
	hostent_line("gethostbyname2_r", rc, h, herr, err);

	errno = EDOM;
	h_errno = 0;
	h = gethostbyname(name);
	err = errno;
	hostent_line("gethostbyname", 0, h, h_errno, err);

	errno = EDOM;
	h_errno = 0;
	h = gethostbyname2(name, AF_INET);
	err = errno;
	hostent_line("gethostbyname2", 0, h, h_errno, err);

	printf("ms=%.0f\n", now_ms() - start);
	return 0;
}
