/* The relay's descriptors, counted against the process's limit: a
 * connection's (relay.c). */
#include "relay.h"

bool cr_fd_budget_take(struct cr_fd_budget *b, unsigned n)
{
	if (atomic_fetch_add(&b->used, n) + n <= b->max)
		return true;
	atomic_fetch_sub(&b->used, n);
	return false;
}

void cr_fd_budget_give(struct cr_fd_budget *b, unsigned n)
{
	atomic_fetch_sub(&b->used, n);
}
