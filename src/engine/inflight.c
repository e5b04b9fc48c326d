#include "inflight.h"

#include <string.h>
#include <sys/socket.h>

void cr_inflight_make(struct cr_inflight *f, const struct cr_attempt *a, int err, bool logged)
{
	const struct cr_dest *d = a->dest;
	*f = (struct cr_inflight){
		.family = d->family,
		.mapped = d->mapped,
		.port = d->port,
		.scope_id = d->scope_id,
		.sotype = (uint8_t)(a->sotype ? a->sotype : SOCK_STREAM),
		.action = (uint8_t)a->action,
		.err = (int16_t)err,
		.level = (int8_t)a->level,
		.dry_run = a->dry_run,
		.logged = logged,
	};
	memcpy(f->addr, d->addr, sizeof f->addr);
	if (a->rule) {
		size_t n = strnlen(a->rule, CR_RULE_NAME_MAX);
		memcpy(f->rule, a->rule, n);
		f->rule[n] = '\0';
	}
}

bool cr_inflight_same_dest(const struct cr_inflight *f, const struct cr_dest *d)
{
	return f->family == d->family && f->port == d->port && f->mapped == d->mapped &&
	       memcmp(f->addr, d->addr, sizeof f->addr) == 0;
}

struct cr_attempt cr_inflight_attempt(const struct cr_inflight *f, struct cr_dest *dest)
{
	memset(dest, 0, sizeof *dest);
	dest->family = f->family;
	dest->mapped = f->mapped;
	dest->port = f->port;
	dest->scope_id = f->scope_id;
	memcpy(dest->addr, f->addr, sizeof dest->addr);
	return (struct cr_attempt){ .rule = f->rule,
				    .action = (enum cr_action)f->action,
				    .dry_run = f->dry_run,
				    .level = f->level,
				    .dest = dest,
				    .sotype = f->sotype };
}

struct cr_settled cr_inflight_settle(const struct cr_inflight *f, int kernel_err, bool from_connect, bool connected)
{
	struct cr_settled s = { .seen = kernel_err == ECONNREFUSED && f->err ? f->err : kernel_err };
	if (from_connect) {
		s.settled = s.seen != EALREADY && s.seen != EINPROGRESS;
		s.outcome = s.seen == EISCONN ? 0 : s.seen;
	} else {
		s.settled = s.seen != 0 || connected;
		s.outcome = s.seen;
	}
	return s;
}
