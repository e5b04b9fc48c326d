/* Name resolution hooks: the real resolver answers; we remember which name
 * each address came from, so that rules can match host names and log lines
 * can say host=. Nothing is resolved on our own account. */
#define _GNU_SOURCE
#include "engine/export.h"
#include "hostcache.h"
#include "preload.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* A literal address is not a name. */
static bool is_name(const char *node)
{
	unsigned char buf[sizeof(struct in6_addr)];
	return node && *node && inet_pton(AF_INET, node, buf) != 1 && inet_pton(AF_INET6, node, buf) != 1;
}

static void remember(int af, const void *addr, const char *name)
{
	if (af == AF_INET) {
		cr_hostcache_put(CR_FAM_INET, addr, name);
	} else if (af == AF_INET6) {
		if (memcmp(addr, v4mapped, 12) == 0)
			cr_hostcache_put(CR_FAM_INET, (const uint8_t *)addr + 12, name);
		else
			cr_hostcache_put(CR_FAM_INET6, addr, name);
	}
}

static void remember_hostent(const struct hostent *h, const char *name)
{
	if (!h || !is_name(name))
		return;
	int saved = errno;
	for (char **a = h->h_addr_list; a && *a; a++)
		remember(h->h_addrtype, *a, name);
	errno = saved;
}

CR_EXPORT int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res)
{
	cr_preload_init();
	if (!cr_real.getaddrinfo)
		return EAI_SYSTEM;
	int ret = cr_real.getaddrinfo(node, service, hints, res);
	if (ret == 0 && is_name(node)) {
		int saved = errno;
		for (const struct addrinfo *ai = *res; ai; ai = ai->ai_next) {
			if (ai->ai_family == AF_INET && ai->ai_addrlen >= sizeof(struct sockaddr_in))
				remember(AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, node);
			else if (ai->ai_family == AF_INET6 && ai->ai_addrlen >= sizeof(struct sockaddr_in6))
				remember(AF_INET6, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, node);
		}
		errno = saved;
	}
	return ret;
}

CR_EXPORT struct hostent *gethostbyname(const char *name)
{
	cr_preload_init();
	if (!cr_real.gethostbyname)
		return NULL;
	struct hostent *h = cr_real.gethostbyname(name);
	remember_hostent(h, name);
	return h;
}

CR_EXPORT struct hostent *gethostbyname2(const char *name, int af)
{
	cr_preload_init();
	if (!cr_real.gethostbyname2)
		return NULL;
	struct hostent *h = cr_real.gethostbyname2(name, af);
	remember_hostent(h, name);
	return h;
}

CR_EXPORT int gethostbyname_r(const char *name, struct hostent *ret, char *buf, size_t len, struct hostent **result,
			      int *h_errnop)
{
	cr_preload_init();
	if (!cr_real.gethostbyname_r)
		return ENOSYS;
	int rc = cr_real.gethostbyname_r(name, ret, buf, len, result, h_errnop);
	if (rc == 0 && result)
		remember_hostent(*result, name);
	return rc;
}

CR_EXPORT int gethostbyname2_r(const char *name, int af, struct hostent *ret, char *buf, size_t len,
			       struct hostent **result, int *h_errnop)
{
	cr_preload_init();
	if (!cr_real.gethostbyname2_r)
		return ENOSYS;
	int rc = cr_real.gethostbyname2_r(name, af, ret, buf, len, result, h_errnop);
	if (rc == 0 && result)
		remember_hostent(*result, name);
	return rc;
}
