/* The preload library's process state: the real functions, the rule set in
 * force, and who this process is. Initialised once, by the constructor or by
 * whichever hook runs first (another library's constructor may connect
 * before ours has run). */
#ifndef CR_PRELOAD_H
#define CR_PRELOAD_H

#include "rules.h"

#include <stdatomic.h>
#include <sys/socket.h>

typedef int (*cr_connect_fn)(int, const struct sockaddr *, socklen_t);

struct cr_process {
	char comm[16];              /* the program name, as the kernel has it */
	char exe[4096];             /* the executable path, or "" */
};

extern cr_connect_fn cr_real_connect;
extern struct cr_process cr_self;

/* Makes sure the state is initialised; cheap after the first call. */
void cr_preload_init(void);

#endif
