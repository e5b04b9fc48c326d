/* connrefuse check --image ROOT: which library of the bundle fits a
 * container's root file system, or why none does, before anyone sets
 * LD_PRELOAD there. Loading a library into a userland it does not fit is
 * the loader's error (the program does not start), which nothing can
 * soften afterwards. The root (a folder, or a tar archive of one) is read,
 * never run: its C library's kind (the dynamic loader's name), version
 * (glibc's banner in libc.so.6) and architecture (the ELF header), each
 * path resolved inside ROOT. */
#define _GNU_SOURCE
#include "cli.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The oldest glibc the bundle's glibc libraries load into (SPEC.md). */
#define GLIBC_MIN_MAJOR 2
#define GLIBC_MIN_MINOR 17

struct libc_found {
	enum { NONE, GLIBC, MUSL } kind;
	const char *arch; /* "x86_64", "aarch64", or NULL */
	int major, minor; /* glibc's version; 0 when unread */
	char where[128];  /* the file the kind was read from, in ROOT */
};

/* The root: a folder, or a tar archive of one (podman export). */
struct root {
	int fd;
	struct cr_tar *tar;
};

/* One file of the root: bytes base .. base+size of fd. */
struct file {
	int fd;
	off_t base, size;
};

/* Opens PATH inside the root (absolute symlinks and ".." stay inside it). */
static bool open_in(const struct root *r, const char *path, struct file *f)
{
	if (r->tar) {
		f->fd = -1;
		return cr_tar_find(r->tar, path, &f->base, &f->size);
	}
	struct open_how how = { .flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT };
	int fd = (int)syscall(SYS_openat2, r->fd, path, &how, sizeof how);
	if (fd < 0 && errno == ENOSYS) /* before Linux 5.6: an absolute link then points outside */
		fd = openat(r->fd, path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	*f = (struct file){ .fd = fd, .base = 0, .size = st.st_size };
	return true;
}

static ssize_t read_at(const struct root *r, const struct file *f, void *buf, size_t len, off_t off)
{
	if (off >= f->size)
		return 0;
	if ((off_t)len > f->size - off)
		len = (size_t)(f->size - off);
	return pread(r->tar ? r->fd : f->fd, buf, len, f->base + off);
}

static const char *elf_arch(const struct root *r, const struct file *f)
{
	Elf64_Ehdr eh;
	if (read_at(r, f, &eh, sizeof eh, 0) != (ssize_t)sizeof eh || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
		return NULL;
	if (eh.e_ident[EI_CLASS] != ELFCLASS64)
		return "a 32-bit architecture";
	return eh.e_machine == EM_X86_64 ? "x86_64" : eh.e_machine == EM_AARCH64 ? "aarch64" : "another architecture";
}

/* glibc's version from the banner libc.so.6 carries ("... release version
 * 2.31."); the file is read in blocks, a banner cut between two found by
 * keeping each block's tail. */
static void glibc_version(const struct root *r, const struct file *file, struct libc_found *f)
{
	static const char key[] = "release version ";
	char buf[65536 + 64];
	size_t keep = 0;
	off_t off = 0;
	ssize_t n;
	while ((n = read_at(r, file, buf + keep, sizeof buf - 64 - keep, off)) > 0) {
		off += n;
		size_t len = keep + (size_t)n;
		for (char *p = memmem(buf, len, key, sizeof key - 1); p;
		     p = memmem(p + 1, len - (size_t)(p + 1 - buf), key, sizeof key - 1)) {
			char *v = p + sizeof key - 1;
			if (v + 8 <= buf + len && sscanf(v, "%d.%d", &f->major, &f->minor) == 2)
				return;
		}
		keep = len < 64 ? len : 64;
		memmove(buf, buf + len - keep, keep);
	}
}

static bool found_at(const struct root *r, const char *path, struct libc_found *f, int kind)
{
	struct file file;
	if (!open_in(r, path, &file))
		return false;
	f->kind = kind;
	f->arch = elf_arch(r, &file);
	snprintf(f->where, sizeof f->where, "/%s", path);
	if (kind == GLIBC)
		glibc_version(r, &file, f);
	if (file.fd >= 0)
		close(file.fd);
	return true;
}

static void find_libc(const struct root *r, struct libc_found *f)
{
	static const char *const musl[] = { "lib/ld-musl-x86_64.so.1", "lib/ld-musl-aarch64.so.1" };
	static const char *const glibc[] = {
		"lib/x86_64-linux-gnu/libc.so.6",
		"usr/lib/x86_64-linux-gnu/libc.so.6",
		"lib/aarch64-linux-gnu/libc.so.6",
		"usr/lib/aarch64-linux-gnu/libc.so.6",
		"lib64/libc.so.6",
		"usr/lib64/libc.so.6",
		"lib/libc.so.6",
		"usr/lib/libc.so.6",
	};
	memset(f, 0, sizeof *f);
	for (size_t i = 0; i < sizeof glibc / sizeof *glibc; i++)
		if (found_at(r, glibc[i], f, GLIBC))
			return;
	for (size_t i = 0; i < sizeof musl / sizeof *musl; i++)
		if (found_at(r, musl[i], f, MUSL))
			return;
}

/* ROOT, a folder or a tar archive of one: its C library, or -1 (after
 * saying why, if say). */
static int read_root(const char *path, struct libc_found *f, bool say)
{
	struct root r = { .fd = open(path, O_RDONLY | O_CLOEXEC) };
	struct stat st;
	if (r.fd < 0 || fstat(r.fd, &st) != 0 || (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))) {
		if (say)
			fprintf(stderr,
				"connrefuse: check --image %s: %s (give a container's root file system: a folder, "
				"or a tar archive of one, as podman export or docker export write)\n",
				path, r.fd < 0 ? strerror(errno) : "neither a folder nor a file");
		if (r.fd >= 0)
			close(r.fd);
		return -1;
	}
	if (S_ISREG(st.st_mode) && !(r.tar = cr_tar_open(r.fd))) {
		if (say)
			fprintf(stderr, "connrefuse: check --image %s: out of memory\n", path);
		close(r.fd);
		return -1;
	}
	find_libc(&r, f);
	cr_tar_close(r.tar);
	close(r.fd);
	return 0;
}

/* The bundle folder that fits, or NULL with *why said. */
static const char *fitting(const struct libc_found *f, char *why, size_t size)
{
	bool known_arch = f->arch && (strcmp(f->arch, "x86_64") == 0 || strcmp(f->arch, "aarch64") == 0);
	if (f->kind == NONE) {
		snprintf(why, size,
			 "no C library (neither glibc's libc.so.6 nor musl's loader): static programs only, "
			 "which no preloaded library reaches; run them under bin/connrefuse run --seccomp");
		return NULL;
	}
	if (!known_arch) {
		snprintf(why, size, "its C library (%s) is for %s; the bundle has libraries for x86_64 and aarch64",
			 f->where, f->arch ? f->arch : "no architecture it could read");
		return NULL;
	}
	if (f->kind == MUSL && strcmp(f->arch, "aarch64") == 0) {
		snprintf(why, size,
			 "musl on aarch64: the bundle has no musl library for it (Debian has no aarch64 musl "
			 "cross compiler); run the programs under bin/connrefuse run --seccomp");
		return NULL;
	}
	if (f->kind == MUSL)
		return "musl-x86_64";
	if (f->major && (f->major < GLIBC_MIN_MAJOR || (f->major == GLIBC_MIN_MAJOR && f->minor < GLIBC_MIN_MINOR))) {
		snprintf(why, size,
			 "glibc %d.%d is older than %d.%d, the oldest the bundle's library loads into; run the "
			 "programs under bin/connrefuse run --seccomp",
			 f->major, f->minor, GLIBC_MIN_MAJOR, GLIBC_MIN_MINOR);
		return NULL;
	}
	return f->arch;
}

const char *cr_bundle_dir_for(const char *root_path)
{
	struct libc_found f;
	char why[400];
	return read_root(root_path, &f, false) == 0 ? fitting(&f, why, sizeof why) : NULL;
}

/* Where the recipes mount the bundle (examples/fleet). */
#define BUNDLE_MOUNT "/opt/connrefuse"

int cr_check_image(const char *root_path)
{
	struct libc_found f;
	if (read_root(root_path, &f, true) != 0)
		return 1;
	char what[96] = "no C library", why[400];
	if (f.kind == GLIBC && f.major)
		snprintf(what, sizeof what, "glibc %d.%d, %s", f.major, f.minor,
			 f.arch ? f.arch : "unknown architecture");
	else if (f.kind != NONE)
		snprintf(what, sizeof what, "%s, %s", f.kind == GLIBC ? "glibc" : "musl",
			 f.arch ? f.arch : "unknown architecture");
	printf("%s: %s (%s)\n", root_path, what, f.kind == NONE ? "no libc.so.6, no ld-musl" : f.where);
	const char *dir = fitting(&f, why, sizeof why);
	if (!dir) {
		printf("no library of the bundle fits: %s\n", why);
		return 1;
	}
	printf("fits: %s/libconnrefuse.so\n", dir);
	if (f.kind == GLIBC)
		printf("LD_PRELOAD='" BUNDLE_MOUNT "/$PLATFORM/libconnrefuse.so'\n");
	else
		printf("LD_PRELOAD='" BUNDLE_MOUNT "/%s/libconnrefuse.so'\n", dir);
	return 0;
}
