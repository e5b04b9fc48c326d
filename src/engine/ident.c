#define _GNU_SOURCE
#include "ident.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Reads a small /proc file whole; the length, or -1. */
static ssize_t read_small(const char *path, char *buf, size_t size)
{
	int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -1;
	size_t n = 0;
	while (n < size - 1) {
		long r = syscall(SYS_read, fd, buf + n, size - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	cr_close(fd);
	buf[n] = '\0';
	return (ssize_t)n;
}

void cr_cgroup_of(const char *text, char *out, size_t size)
{
	const char *pick = NULL, *first = NULL;
	for (const char *line = text; *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : line + strlen(line)) {
		const char *c1 = strchr(line, ':'), *nl = strchr(line, '\n');
		const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2 || (nl && c2 > nl))
			continue;
		if (!first)
			first = line;
		if (strncmp(line, "0::", 3) == 0) {
			pick = line;
			break;
		}
		if (!pick && c2 - c1 - 1 == 12 && strncmp(c1 + 1, "name=systemd", 12) == 0)
			pick = line;
	}
	if (!pick)
		pick = first;
	out[0] = '\0';
	if (!pick)
		return;
	const char *path = strchr(strchr(pick, ':') + 1, ':') + 1;
	size_t n = strcspn(path, "\n");
	snprintf(out, size, "%.*s", (int)n, path);
}

void cr_ident_read(pid_t pid, bool self, struct cr_ident *id)
{
	char path[64], buf[4096];
	id->uid = id->euid = -1;
	id->cgroup[0] = '\0';
	if (self) {
		id->uid = (int)getuid();
		id->euid = (int)geteuid();
	} else {
		snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
		const char *u = read_small(path, buf, sizeof buf) > 0 ? strstr(buf, "\nUid:") : NULL;
		unsigned long r, e;
		if (u && sscanf(u + 5, "%lu %lu", &r, &e) == 2) {
			id->uid = (int)r;
			id->euid = (int)e;
		}
	}
	if (self)
		snprintf(path, sizeof path, "/proc/self/cgroup");
	else
		snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
	if (read_small(path, buf, sizeof buf) > 0)
		cr_cgroup_of(buf, id->cgroup, sizeof id->cgroup);
}
