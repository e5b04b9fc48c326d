/* Who a log line is about: the real and effective uid and the cgroup of a
 * process, read when the line is made (processes move between cgroups),
 * through raw system calls and no descriptor kept. */
#ifndef CR_IDENT_H
#define CR_IDENT_H

#include <stdbool.h>
#include <sys/types.h>

struct cr_ident {
	int uid, euid;    /* -1: unknown */
	char cgroup[512]; /* "" when unknown; "/" for the root */
};

/* Of the calling process (self), or of process pid (run --seccomp's
 * supervisor logs for others). */
void cr_ident_read(pid_t pid, bool self, struct cr_ident *id);
/* The cgroup a /proc/PID/cgroup text names: the v2 line ("0::PATH"), or on
 * a v1-only system the name=systemd line, else the first; "" if none. */
void cr_cgroup_of(const char *text, char *out, size_t size);

#endif
