/* Reading a rules file inside someone else's program: look before opening,
 * open nothing but a regular file, bounded, that no other user can write,
 * and hand libconfig text in memory, never a path or a descriptor (its
 * scanner calls exit() on a read error and blocks on a FIFO). */
#define _GNU_SOURCE
#include "config_file.h"
#include "rules.h"
#include "sys.h"
#include "image.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *file_kind(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR:
		return "is a directory";
	case S_IFIFO:
		return "is a FIFO, not a regular file";
	case S_IFCHR:
		return "is a character device, not a regular file";
	case S_IFBLK:
		return "is a block device, not a regular file";
	case S_IFSOCK:
		return "is a socket, not a regular file";
	default:
		return "is not a regular file";
	}
}

/* Why st (a file, or the directory holding one) lets a user other than root
 * or this process's effective user change the rules; NULL if it does not.
 * A group- or world-writable directory is safe when sticky (/tmp): others
 * can add files there, not replace this one. */
static const char *untrusted(const struct stat *st, bool dir, char *buf, size_t size)
{
	uid_t euid = geteuid();
	if (st->st_uid != 0 && st->st_uid != euid) {
		snprintf(buf, size, "is owned by uid %u, neither root nor this process's user (uid %u)",
			 (unsigned)st->st_uid, (unsigned)euid);
		return buf;
	}
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) && !(dir && (st->st_mode & S_ISVTX)))
		return st->st_mode & S_IWOTH ? "is writable by every user" : "is writable by its group";
	return NULL;
}

/* The directory that holds path, checked as untrusted() checks a file. */
static int check_folder(const char *path, const char *shown, char *err, size_t errsize)
{
	char copy[PATH_MAX], why[160];
	snprintf(copy, sizeof copy, "%s", path);
	const char *dir = dirname(copy);
	struct stat st;
	if (cr_stat(dir, &st) != 0)
		return 0; /* the file was found through it: stat of the file said so */
	const char *bad = untrusted(&st, true, why, sizeof why);
	if (!bad)
		return 0;
	snprintf(err, errsize,
		 "%s: not used: its folder %s %s; another user could change the rules "
		 "(make it writable by root or its owner only)",
		 shown, dir, bad);
	return -1;
}

/* The file and the folders it is found through. */
static int check_trust(const char *path, const struct stat *st, char *err, size_t errsize)
{
	char why[160];
	const char *bad = untrusted(st, false, why, sizeof why);
	if (bad) {
		snprintf(err, errsize,
			 "%s: not used: the file %s; another user could change the rules "
			 "(chmod go-w, or chown it to root)",
			 path, bad);
		return -1;
	}
	if (check_folder(path, path, err, errsize) != 0)
		return -1;
	/* Through a symlink (a Kubernetes ConfigMap's ..data), the folder of
	 * the file itself counts too. */
	struct stat lst;
	char real[PATH_MAX];
	if (cr_lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode) && realpath(path, real))
		return check_folder(real, path, err, errsize);
	return 0;
}

/* Reads all of fd (size bytes, as fstat said) into a new buffer. */
static char *read_all(int fd, size_t size, const char *path, char *err, size_t errsize)
{
	char *text = malloc(size + 2);
	if (!text) {
		snprintf(err, errsize, "%s: out of memory (%zu bytes)", path, size);
		return NULL;
	}
	size_t got = 0;
	for (int interrupted = 0;;) {
		/* One byte more than expected: a file that grew is seen. */
		ssize_t n = read(fd, text + got, size + 1 - got);
		if (n < 0 && errno == EINTR && ++interrupted < 8)
			continue; /* a signal: again, a few times, never for long */
		if (n < 0) {
			snprintf(err, errsize, "%s: cannot read the file: %s", path, strerror(errno));
			free(text);
			return NULL;
		}
		got += (size_t)n;
		if (n == 0 || got == size + 1)
			break;
	}
	if (got != size) {
		snprintf(err, errsize,
			 "%s: the file changed while it was read (%zu bytes expected, %s); "
			 "replace it by renaming a new file over it",
			 path, size, got > size ? "more found" : "fewer found");
		free(text);
		return NULL;
	}
	text[got] = '\0';
	return text;
}

/* What libconfig must never see: a NUL byte (the text would end there
 * silently) and @include (it would open another path itself). */
static int check_text(const char *text, size_t len, const char *path, char *err, size_t errsize)
{
	if (memchr(text, '\0', len)) {
		snprintf(err, errsize, "%s: the file holds a NUL byte: it is not a text file", path);
		return -1;
	}
	unsigned line = 1;
	for (const char *p = text; *p; line++) {
		const char *q = p + strspn(p, " \t");
		if (strncmp(q, "@include", 8) == 0) {
			snprintf(err, errsize, "%s:%u: @include is not supported: put every rule in the one file", path,
				 line);
			return -1;
		}
		const char *nl = strchr(p, '\n');
		if (!nl)
			break;
		p = nl + 1;
	}
	return 0;
}

/* A compiled file: mapped, never read (its pages are the page cache's,
 * shared by every process that maps it). */
static int map_image(int fd, size_t size, const char *path, struct cr_config_file *f, char *err, size_t errsize)
{
	if (size > CR_IMAGE_MAX_BYTES) {
		snprintf(err, errsize, "%s: is larger than %llu GiB (%zu bytes): split the rules", path,
			 CR_IMAGE_MAX_BYTES >> 30, size);
		return -1;
	}
	/* Mapped one page past a 2 MiB boundary, so that no 2 MiB stretch of
	 * the file lines up with one of the address space: the kernel then
	 * cannot map a large page-cache folio whole (a PMD), and a process
	 * that reads a few lines of a 100 MB image counts a few 64 KiB
	 * fault-around windows in its RSS, not 2 MiB a line (measured: 2 MiB
	 * for the header alone, aligned). */
	const size_t huge = 2u << 20, page = (size_t)sysconf(_SC_PAGESIZE);
	size_t span = size + 2 * huge;
	char *base = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	char *at = base == MAP_FAILED ? NULL : (char *)(((uintptr_t)base + huge - 1) & ~(uintptr_t)(huge - 1)) + page;
	void *p = at ? mmap(at, size, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0) : MAP_FAILED;
	if (p == MAP_FAILED) {
		snprintf(err, errsize, "%s: cannot map the compiled file: %s", path, strerror(errno));
		if (base != MAP_FAILED)
			munmap(base, span);
		return -1;
	}
	char *end = at + (size + page - 1) / page * page;
	munmap(base, (size_t)(at - base));
	munmap(end, (size_t)(base + span - end));
	/* A decision reads a few lines at random: no read-ahead. */
	madvise(p, size, MADV_RANDOM);
	f->image = p;
	f->len = size;
	return 0;
}

/* path opened (its descriptor returned, its size in *size) if it is a
 * regular file no other user can change, and the one looked at; -1 with
 * the error written otherwise. */
static int open_checked(const char *path, size_t *size, char *err, size_t errsize)
{
	struct stat st, fst;
	if (!*path) {
		snprintf(err, errsize, "(empty path): no file named; set CONNREFUSE_CONFIG to a rules file");
		return -1;
	}
	if (cr_stat(path, &st) != 0) {
		snprintf(err, errsize, "%s: cannot read the file: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errsize, "%s: %s", path, file_kind(st.st_mode));
		return -1;
	}
	if (check_trust(path, &st, err, errsize) != 0)
		return -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		snprintf(err, errsize, "%s: cannot read the file: %s", path, strerror(errno));
		return -1;
	}
	if (cr_fstat(fd, &fst) != 0) {
		snprintf(err, errsize, "%s: cannot read the file: %s", path, strerror(errno));
		cr_close(fd);
		return -1;
	}
	if (!S_ISREG(fst.st_mode) || fst.st_dev != st.st_dev || fst.st_ino != st.st_ino) {
		snprintf(err, errsize,
			 "%s: the file was replaced while it was opened; replace it by renaming a new file over it",
			 path);
		cr_close(fd);
		return -1;
	}
	*size = (size_t)fst.st_size;
	return fd;
}

int cr_config_open(const char *path, size_t text_max, struct cr_config_file *f, char *err, size_t errsize)
{
	size_t size;
	memset(f, 0, sizeof *f);
	int fd = open_checked(path, &size, err, errsize);
	if (fd < 0)
		return -1;
	char magic[8];
	int rc = -1;
	if (size >= sizeof magic && pread(fd, magic, sizeof magic, 0) == (ssize_t)sizeof magic &&
	    cr_image_is(magic, sizeof magic)) {
		rc = map_image(fd, size, path, f, err, errsize);
	} else if (size > CR_CONFIG_MAX_BYTES) {
		snprintf(err, errsize, "%s: is larger than %u MiB (%zu bytes): compile it, or split the rules", path,
			 CR_CONFIG_MAX_BYTES >> 20, size);
	} else if (size > text_max) {
		snprintf(err, errsize,
			 "%s: changed, but is too big to reload inside a connect (%zu bytes of text; "
			 "a reload parses up to %zu KiB): compile it (connrefuse compile %s) and point the program at "
			 "the compiled file, which reloads at any size; or restart the program",
			 path, size, text_max >> 10, path);
	} else if ((f->text = read_all(fd, size, path, err, errsize)) &&
		   check_text(f->text, size, path, err, errsize) != 0) {
		free(f->text);
		f->text = NULL;
	} else if (f->text) {
		f->len = size;
		rc = 0;
	}
	cr_close(fd);
	return rc;
}

int cr_path_join(const char *dir, const char *path, char *out, size_t size)
{
	if (path[0] == '/') {
		if ((size_t)snprintf(out, size, "%s", path) >= size)
			return -1;
		return 0;
	}
	char cwd[PATH_MAX];
	if (!dir && !(dir = getcwd(cwd, sizeof cwd)))
		return -1;
	if ((size_t)snprintf(out, size, "%s%s%s", dir, strcmp(dir, "/") ? "/" : "", path) >= size)
		return -1;
	return 0;
}

int cr_config_absolute(const char *path, char *out, size_t size)
{
	return cr_path_join(NULL, path, out, size);
}

int cr_start_dir(const char *given, char *out, size_t size)
{
	if (given && given[0] == '/')
		return (size_t)snprintf(out, size, "%s", given) < size ? 0 : -1;
	return getcwd(out, size) ? 0 : -1;
}

int cr_log_file_absolute(struct cr_log_conf *lc, const char *dir)
{
	char path[sizeof lc->file];
	if (!lc->file[0] || lc->file[0] == '/')
		return 0;
	if (!dir || !*dir || cr_path_join(dir, lc->file, path, sizeof path) != 0)
		return -1;
	memcpy(lc->file, path, sizeof path);
	return 0;
}
