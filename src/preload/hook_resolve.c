/* Name resolution hooks. Two jobs:
 *
 * - host rules (resolver faults): a look-up of a matching name is delayed,
 *   or failed with the resolver's own codes, exactly as glibc's resolver
 *   fails it against a real DNS server (NOTES.md has the table measured
 *   against dnsmasq): getaddrinfo's return value and errno, the
 *   gethostbyname family's return value, h_errno and errno. Real failures
 *   are logged at the default level (which names could not be resolved);
 * - the names behind addresses: when the real resolver answers we remember
 *   which name each address came from, so that connect rules can match
 *   host names and log lines can say host=. Nothing is resolved on our own
 *   account. */
#define _GNU_SOURCE
#include "current.h"
#include "hostcache.h"
#include "preload.h"
#include "engine/clock.h"
#include "engine/decide.h"
#include "engine/export.h"
#include "engine/outcome.h"

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

/* ---- host rules ---- */

/* One look-up under the rule set in force: decided, delayed, then failed
 * by us (simulate) or made by the real resolver. */
struct lookup {
	const struct cr_ruleset *rs; /* NULL: the library is still initialising */
	const char *name;
	struct cr_verdict v;
};

/* Enters the rule set in force for a look-up of name: the caller holds the
 * reader (a cleanup variable) until it has logged. Until decided, the
 * look-up is a pass at log.level. */
static void lookup_enter(struct lookup *lk, struct cr_reader *reader, const char *name)
{
	int saved = errno;
	cr_current_poll();
	lk->rs = cr_current_enter(reader);
	lk->name = name;
	lk->v = (struct cr_verdict){ .action = CR_ACT_PASS, .level = lk->rs ? lk->rs->log.level : CR_LEVEL_NONE };
	errno = saved;
}

/* Decides it by the host rules, and waits out a delay. */
static void lookup_decide(struct lookup *lk)
{
	int saved = errno;
	if (lk->rs) {
		struct cr_lookup q = { .name = lk->name,
				       .comm = cr_self.comm,
				       .exe = cr_self.exe,
				       .now = lk->rs->needs_clock ? cr_monotonic_now() : 0 };
		cr_decide_lookup(lk->rs, &q, &lk->v);
		if (lk->v.delay_ms)
			cr_sleep_ms(lk->v.delay_ms);
	}
	errno = saved;
}

static void lookup_begin(struct lookup *lk, struct cr_reader *reader, const char *name)
{
	lookup_enter(lk, reader, name);
	lookup_decide(lk);
}

/* Logs the look-up's outcome (code: 0, or the EAI_* it ended with) if its
 * level asks for it; keeps errno. */
static void lookup_log(const struct lookup *lk, int code, bool simulated)
{
	if (!lk->rs)
		return;
	const struct cr_verdict *v = &lk->v;
	struct cr_attempt a = { .rule = v->rule ? cr_rule_name(lk->rs, v->rule) : NULL,
				.action = v->action,
				.dry_run = cr_verdict_dry_run(v),
				.level = v->level,
				.comm = cr_self.comm,
				.host = lk->name };
	if (cr_outcome_wanted(&a, code, simulated))
		cr_outcome_write(&lk->rs->log, &cr_self_log, &a, code, simulated);
}

/* A real getaddrinfo result that says the name could not be resolved (not
 * a caller's mistake such as a bad flag or service). */
static bool resolution_failed(int code)
{
	return code == EAI_NONAME || code == EAI_AGAIN || code == EAI_FAIL || code == EAI_NODATA ||
	       code == EAI_ADDRFAMILY || code == EAI_SYSTEM || code == EAI_MEMORY;
}

/* What glibc's resolver leaves when a look-up of the gethostbyname family
 * fails with the getaddrinfo code eai (measured, NOTES.md): h_errno, the _r
 * forms' return value, and errno (set to 0 by the C library itself, but
 * EAGAIN for a server that did not answer). */
struct hostent_failure {
	int herr, rc, err;
};

static struct hostent_failure hostent_failure_of(int eai)
{
	switch (eai) {
	case EAI_AGAIN:
		return (struct hostent_failure){ TRY_AGAIN, EAGAIN, EAGAIN };
	case EAI_FAIL:
		return (struct hostent_failure){ NO_RECOVERY, 0, 0 };
	case EAI_NODATA:
		return (struct hostent_failure){ NO_DATA, 0, 0 };
	default:
		return (struct hostent_failure){ HOST_NOT_FOUND, 0, 0 };
	}
}

/* The getaddrinfo code a real h_errno stands for (0: not a failure). */
static int eai_of_herrno(int herr)
{
	switch (herr) {
	case HOST_NOT_FOUND:
		return EAI_NONAME;
	case TRY_AGAIN:
		return EAI_AGAIN;
	case NO_RECOVERY:
		return EAI_FAIL;
	case NO_DATA:
		return EAI_NODATA;
#ifdef NETDB_INTERNAL /* glibc's; musl has no such h_errno */
	case NETDB_INTERNAL:
		return EAI_SYSTEM;
#endif
	default:
		return 0;
	}
}

CR_EXPORT int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res)
{
	cr_preload_init();
	if (!cr_real.getaddrinfo)
		return EAI_SYSTEM;
	/* A literal, or AI_NUMERICHOST, is parsed, never looked up. */
	if (!is_name(node) || (hints && (hints->ai_flags & AI_NUMERICHOST)))
		return cr_real.getaddrinfo(node, service, hints, res);

	struct cr_reader reader __attribute__((cleanup(cr_current_leave_scope)));
	struct lookup lk;
	lookup_begin(&lk, &reader, node);
	if (lk.v.simulate) {
		/* errno as the resolver leaves it: EAGAIN for a server that did
		 * not answer, untouched otherwise. */
		if (lk.v.err == EAI_AGAIN)
			errno = EAGAIN;
		lookup_log(&lk, lk.v.err, true);
		return lk.v.err;
	}
	int ret = cr_real.getaddrinfo(node, service, hints, res);
	int saved = errno;
	if (ret == 0) {
		for (const struct addrinfo *ai = *res; ai; ai = ai->ai_next) {
			if (ai->ai_family == AF_INET && ai->ai_addrlen >= sizeof(struct sockaddr_in))
				remember(AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, node);
			else if (ai->ai_family == AF_INET6 && ai->ai_addrlen >= sizeof(struct sockaddr_in6))
				remember(AF_INET6, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, node);
		}
	}
	if (ret == 0 || resolution_failed(ret))
		lookup_log(&lk, ret, false);
	errno = saved;
	return ret;
}

/* The gethostbyname family's common part: decides, then either fails the
 * look-up as the resolver would (true, with *f filled), or lets the caller
 * make the real call (false). */
static bool hostent_simulated(struct lookup *lk, struct hostent_failure *f)
{
	if (!lk->v.simulate)
		return false;
	*f = hostent_failure_of(lk->v.err);
	lookup_log(lk, lk->v.err, true);
	return true;
}

/* After a real call of the family: remember the addresses, or log the
 * failure (h_errno as the getaddrinfo code it stands for); keeps errno. */
static void hostent_done(const struct lookup *lk, const struct hostent *h, int herr)
{
	int saved = errno;
	if (h)
		remember_hostent(h, lk->name);
	int code = h ? 0 : eai_of_herrno(herr);
	if (h || code)
		lookup_log(lk, code, false);
	errno = saved;
}

/* gethostbyname (with_af false) or gethostbyname2. */
static struct hostent *hostent_call(const char *name, int af, bool with_af)
{
	struct cr_reader reader __attribute__((cleanup(cr_current_leave_scope)));
	struct lookup lk;
	struct hostent_failure f;
	lookup_begin(&lk, &reader, name);
	if (hostent_simulated(&lk, &f)) {
		h_errno = f.herr;
		errno = f.err;
		return NULL;
	}
	struct hostent *h = with_af ? cr_real.gethostbyname2(name, af) : cr_real.gethostbyname(name);
	hostent_done(&lk, h, h_errno);
	return h;
}

CR_EXPORT struct hostent *gethostbyname(const char *name)
{
	cr_preload_init();
	if (!cr_real.gethostbyname)
		return NULL;
	if (!is_name(name))
		return cr_real.gethostbyname(name);
	return hostent_call(name, 0, false);
}

CR_EXPORT struct hostent *gethostbyname2(const char *name, int af)
{
	cr_preload_init();
	if (!cr_real.gethostbyname2)
		return NULL;
	if (!is_name(name))
		return cr_real.gethostbyname2(name, af);
	return hostent_call(name, af, true);
}

/* The _r forms: the failure is returned, as h_errno through h_errnop. */
static int hostent_r_call(const char *name, int af, bool with_af, struct hostent *ret, char *buf, size_t len,
			  struct hostent **result, int *h_errnop)
{
	struct cr_reader reader __attribute__((cleanup(cr_current_leave_scope)));
	struct lookup lk;
	struct hostent_failure f;
	lookup_begin(&lk, &reader, name);
	if (hostent_simulated(&lk, &f)) {
		*result = NULL;
		*h_errnop = f.herr;
		errno = f.err;
		return f.rc;
	}
	int rc = with_af ? cr_real.gethostbyname2_r(name, af, ret, buf, len, result, h_errnop)
			 : cr_real.gethostbyname_r(name, ret, buf, len, result, h_errnop);
	/* ERANGE asks the caller for a bigger buffer: not an outcome yet. */
	if (rc != ERANGE)
		hostent_done(&lk, *result, *h_errnop);
	return rc;
}

CR_EXPORT int gethostbyname_r(const char *name, struct hostent *ret, char *buf, size_t len, struct hostent **result,
			      int *h_errnop)
{
	cr_preload_init();
	if (!cr_real.gethostbyname_r)
		return ENOSYS;
	if (!is_name(name) || !result || !h_errnop)
		return cr_real.gethostbyname_r(name, ret, buf, len, result, h_errnop);
	return hostent_r_call(name, 0, false, ret, buf, len, result, h_errnop);
}

CR_EXPORT int gethostbyname2_r(const char *name, int af, struct hostent *ret, char *buf, size_t len,
			       struct hostent **result, int *h_errnop)
{
	cr_preload_init();
	if (!cr_real.gethostbyname2_r)
		return ENOSYS;
	if (!is_name(name) || !result || !h_errnop)
		return cr_real.gethostbyname2_r(name, af, ret, buf, len, result, h_errnop);
	return hostent_r_call(name, af, true, ret, buf, len, result, h_errnop);
}

/* getnameinfo resolves when it is asked for the host name (not
 * NI_NUMERICHOST) of an IP address. The name is known only once found, so
 * the real reverse look-up is made first and host rules match the name it
 * found; a rule that fails it gives what a failed reverse look-up gives:
 * the numeric form, or with NI_NAMEREQD the failure (EAI_NONAME for a name
 * with no data). */
static bool reverse_lookup(const struct sockaddr *sa, socklen_t salen, char *host, socklen_t hostlen, int flags,
			   char *text, size_t size)
{
	if (!host || !hostlen || (flags & NI_NUMERICHOST) || !sa)
		return false;
	if (sa->sa_family == AF_INET && salen >= sizeof(struct sockaddr_in))
		return inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, text, (socklen_t)size);
	if (sa->sa_family == AF_INET6 && salen >= sizeof(struct sockaddr_in6))
		return inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, text, (socklen_t)size);
	return false;
}

CR_EXPORT int getnameinfo(const struct sockaddr *sa, socklen_t salen, char *host, socklen_t hostlen, char *serv,
			  socklen_t servlen, int flags)
{
	cr_preload_init();
	if (!cr_real.getnameinfo)
		return EAI_SYSTEM;
	char text[INET6_ADDRSTRLEN];
	if (!reverse_lookup(sa, salen, host, hostlen, flags, text, sizeof text))
		return cr_real.getnameinfo(sa, salen, host, hostlen, serv, servlen, flags);
	int ret = cr_real.getnameinfo(sa, salen, host, hostlen, serv, servlen, flags);
	int saved = errno;
	/* Entered whatever comes next: the cleanup leaves it on every return. */
	struct cr_reader reader __attribute__((cleanup(cr_current_leave_scope)));
	struct lookup lk;
	bool named = ret == 0 && is_name(host);
	lookup_enter(&lk, &reader, named ? host : text);
	if (!named) {
		/* Not found (NI_NAMEREQD), or the numeric form given for it:
		 * no name to rule; a failure is audited under the address. */
		if (resolution_failed(ret))
			lookup_log(&lk, ret, false);
		errno = saved;
		return ret;
	}
	lookup_decide(&lk);
	if (!lk.v.simulate) {
		lookup_log(&lk, 0, false);
		errno = saved;
		return ret;
	}
	lookup_log(&lk, lk.v.err, true);
	if (flags & NI_NAMEREQD) {
		*host = '\0';
		if (lk.v.err == EAI_AGAIN)
			errno = EAGAIN;
		return lk.v.err == EAI_NODATA ? EAI_NONAME : lk.v.err;
	}
	ret = cr_real.getnameinfo(sa, salen, host, hostlen, serv, servlen, flags | NI_NUMERICHOST);
	errno = saved;
	return ret;
}
