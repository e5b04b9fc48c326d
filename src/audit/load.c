/* Loading the kernel program of connrefuse audit (connaudit.bpf.c, through
 * the skeleton bpftool made of it), its scope set before it is loaded, and
 * reading its ring buffer. Also: cgroup ids as paths. */
#define _GNU_SOURCE
#include "audit.h"
#include <connaudit.skel.h> /* made by bpftool in the build folder (Makefile) */

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

struct cr_audit {
	struct connaudit *skel;
	struct ring_buffer *ring;
	void (*fn)(const struct cr_audit_record *r, void *arg);
	void *arg;
	int handed;
	struct bpf_link *udp4, *udp6; /* the UDP connect programs, on the scope's cgroup */
	char note[512];               /* why UDP is not followed, or "" */
};

/* libbpf's own messages: warnings and errors only, on stderr, when loading. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

static char cgroup_root[4096];

const char *cr_audit_cgroup_root(void)
{
	if (*cgroup_root)
		return cgroup_root;
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return cgroup_root;
	char line[8192];
	while (fgets(line, sizeof line, f)) {
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS... - TYPE SOURCE ... */
		char mnt[4096], type[64];
		const char *dash = strstr(line, " - ");
		if (!dash || sscanf(dash, " - %63s", type) != 1 || strcmp(type, "cgroup2") != 0)
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1) {
			snprintf(cgroup_root, sizeof cgroup_root, "%s", mnt);
			break;
		}
	}
	fclose(f);
	return cgroup_root;
}

/* A cgroup id is its folder's inode in the cgroup2 file system: opened by
 * handle (FILEID_KERNFS), its path read back. A small cache, since a storm
 * of refusals comes from few cgroups. */
#define CG_CACHE 64
static struct {
	unsigned long long id;
	char path[512];
} cg_cache[CG_CACHE];

void cr_audit_cgroup_path(unsigned long long id, char *out, size_t size)
{
	snprintf(out, size, "%s", "");
	if (id == 0)
		return;
	if (id == 1) { /* the root's id */
		snprintf(out, size, "/");
		return;
	}
	unsigned slot = (unsigned)(id % CG_CACHE);
	if (cg_cache[slot].id == id) {
		snprintf(out, size, "%s", cg_cache[slot].path);
		return;
	}
	const char *root = cr_audit_cgroup_root();
	if (!*root)
		return;
	int mfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mfd < 0)
		return;
	struct {
		struct file_handle h;
		unsigned long long id;
	} fh = { .h = { .handle_bytes = sizeof(unsigned long long), .handle_type = 0xfe /* FILEID_KERNFS */ } };
	fh.id = id;
	int fd = open_by_handle_at(mfd, &fh.h, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	close(mfd);
	if (fd < 0)
		return; /* gone already (a short-lived container): left out */
	char link[64], path[4096];
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, path, sizeof path - 1);
	close(fd);
	if (n <= 0)
		return;
	path[n] = '\0';
	size_t rl = strlen(root);
	const char *rel = strncmp(path, root, rl) == 0 ? path + rl : path;
	if (strlen(rel) >= sizeof cg_cache[slot].path)
		return; /* a path longer than a line holds: left out */
	memcpy(cg_cache[slot].path, *rel ? rel : "/", strlen(*rel ? rel : "/") + 1);
	cg_cache[slot].id = id;
	snprintf(out, size, "%s", cg_cache[slot].path);
}

/* The folder of --cgroup PATH: a path as /proc/PID/cgroup names it, or one
 * under the cgroup2 mount. */
static int open_cgroup(const char *path, char *msg, size_t size)
{
	const char *root = cr_audit_cgroup_root();
	if (!*root) {
		snprintf(msg, size, "--cgroup: no cgroup2 file system is mounted (see /proc/self/mountinfo)");
		return -1;
	}
	char full[8192];
	size_t rl = strlen(root);
	if (strncmp(path, root, rl) == 0 && (path[rl] == '/' || path[rl] == '\0'))
		snprintf(full, sizeof full, "%s", path);
	else
		snprintf(full, sizeof full, "%s/%s", root, path[0] == '/' ? path + 1 : path);
	int fd = open(full, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		snprintf(msg, size, "--cgroup %s: %s is no cgroup (%s); name one as /proc/PID/cgroup does (0::PATH)",
			 path, full, strerror(errno));
	return fd;
}

static bool effective_capability(int cap)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	return syscall(SYS_capget, &h, d) == 0 && (d[cap / 32].effective & (1u << (cap % 32)));
}

/* The UDP connect programs, attached to the scope's cgroup (or the root:
 * every process). UDP is left out, with a note, where they cannot be. */
static void follow_udp(struct cr_audit *a, int cgfd)
{
	int fd = cgfd;
	if (fd < 0 && *cr_audit_cgroup_root())
		fd = open(cr_audit_cgroup_root(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(a->note, sizeof a->note,
			 "ICMP errors on UDP sockets are not followed: no cgroup2 file system");
		return;
	}
	a->udp4 = bpf_program__attach_cgroup(a->skel->progs.udp_connect4, fd);
	int e = a->udp4 ? 0 : errno;
	if (a->udp4)
		a->udp6 = bpf_program__attach_cgroup(a->skel->progs.udp_connect6, fd);
	if (a->udp4 && !a->udp6)
		e = errno;
	if (e)
		snprintf(a->note, sizeof a->note,
			 "ICMP errors on UDP sockets are not followed: cannot attach to the cgroup's connects: %s",
			 strerror(e));
	if (fd != cgfd)
		close(fd);
}

static bool power_of_two_page(unsigned n)
{
	long page = sysconf(_SC_PAGESIZE);
	return n >= (unsigned)page && (n & (n - 1)) == 0;
}

static int handle(void *ctx, void *data, size_t len)
{
	struct cr_audit *a = ctx;
	if (len < sizeof(struct cr_audit_record))
		return 0;
	a->fn(data, a->arg);
	a->handed++;
	return 0;
}

struct cr_audit *cr_audit_open(const struct cr_audit_opts *o, char *msg, size_t size)
{
	libbpf_set_print(libbpf_print);
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		snprintf(msg, size,
			 "this kernel has no BTF (/sys/kernel/btf/vmlinux): audit needs a kernel built with "
			 "CONFIG_DEBUG_INFO_BTF (5.8 or later; Debian's kernels have it)");
		return NULL;
	}
	if (o->ring_bytes && !power_of_two_page(o->ring_bytes)) {
		snprintf(msg, size, "--ring-size %u: a power of two, at least %ld (a page)", o->ring_bytes,
			 sysconf(_SC_PAGESIZE));
		return NULL;
	}
	struct cr_audit *a = calloc(1, sizeof *a);
	int cgfd = -1;
	if (!a) {
		snprintf(msg, size, "out of memory");
		return NULL;
	}
	if (o->cgroup && (cgfd = open_cgroup(o->cgroup, msg, size)) < 0)
		goto fail;
	a->skel = connaudit__open();
	if (!a->skel) {
		snprintf(msg, size, "cannot open the kernel program: %s", strerror(errno));
		goto fail;
	}
	a->skel->rodata->by_uid = o->uid >= 0;
	a->skel->rodata->want_uid = o->uid >= 0 ? (__u32)o->uid : 0;
	a->skel->rodata->by_cgroup = cgfd >= 0;
	/* A program on a cgroup's connects needs CAP_NET_ADMIN to load. */
	bool udp = effective_capability(CAP_NET_ADMIN);
	if (!udp) {
		bpf_program__set_autoload(a->skel->progs.udp_connect4, false);
		bpf_program__set_autoload(a->skel->progs.udp_connect6, false);
		snprintf(a->note, sizeof a->note,
			 "ICMP errors on UDP sockets are not followed: that needs CAP_NET_ADMIN besides CAP_BPF and CAP_PERFMON");
	}
	bpf_map__set_max_entries(a->skel->maps.events, o->ring_bytes ? o->ring_bytes : CR_AUDIT_RING_DEFAULT);
	int err = connaudit__load(a->skel);
	if (err) {
		int e = -err;
		snprintf(msg, size, "cannot load the kernel program: %s%s", strerror(e),
			 e == EPERM || e == EACCES ? " (run as root, or with CAP_BPF and CAP_PERFMON)" : "");
		goto fail;
	}
	if (cgfd >= 0) {
		__u32 key = 0;
		if (bpf_map_update_elem(bpf_map__fd(a->skel->maps.scope), &key, &cgfd, BPF_ANY) != 0) {
			snprintf(msg, size, "--cgroup %s: %s", o->cgroup, strerror(errno));
			goto fail;
		}
	}
	a->ring = ring_buffer__new(bpf_map__fd(a->skel->maps.events), handle, a, NULL);
	if (!a->ring) {
		snprintf(msg, size, "cannot read the kernel's ring buffer: %s", strerror(errno));
		goto fail;
	}
	err = connaudit__attach(a->skel);
	if (err) {
		snprintf(msg, size,
			 "cannot attach to the tracepoints sock:inet_sock_set_state and sock:inet_sk_error_report: %s",
			 strerror(-err));
		goto fail;
	}
	if (udp)
		follow_udp(a, cgfd);
	if (cgfd >= 0)
		close(cgfd);
	return a;
fail:
	if (cgfd >= 0)
		close(cgfd);
	cr_audit_close(a);
	return NULL;
}

int cr_audit_poll(struct cr_audit *a, int timeout_ms, void (*fn)(const struct cr_audit_record *r, void *arg), void *arg)
{
	a->fn = fn;
	a->arg = arg;
	a->handed = 0;
	int n = ring_buffer__poll(a->ring, timeout_ms);
	if (n < 0) {
		errno = -n;
		return -1;
	}
	return a->handed;
}

const char *cr_audit_note(const struct cr_audit *a)
{
	return a->note;
}

unsigned long long cr_audit_lost(const struct cr_audit *a)
{
	return __atomic_load_n(&a->skel->bss->lost, __ATOMIC_RELAXED);
}

void cr_audit_close(struct cr_audit *a)
{
	if (!a)
		return;
	ring_buffer__free(a->ring);
	bpf_link__destroy(a->udp4);
	bpf_link__destroy(a->udp6);
	connaudit__destroy(a->skel);
	free(a);
}
