/* Reading a rules file safely, wherever the path points: only a regular
 * file, no larger than CR_CONFIG_MAX_BYTES, that no user but root or this
 * process's own can change (ssh's StrictModes), read whole into memory. */
#ifndef CR_CONFIG_FILE_H
#define CR_CONFIG_FILE_H

#include <stddef.h>

#define CR_CONFIG_MAX_BYTES (128u << 20)

/* A rules file, opened: a compiled one mapped read-only and shared
 * (image), or a text one read whole, NUL-terminated, into a new buffer
 * (text; no more than text_max bytes). */
struct cr_config_file {
	char *text;
	const void *image;
	size_t len;
};
/* 0, or -1 with one message in err: "PATH: what it is and what to do". */
int cr_config_open(const char *path, size_t text_max, struct cr_config_file *f, char *err, size_t errsize);

/* path made absolute against the current directory, symlinks left as they
 * are (a Kubernetes ConfigMap's ..data swap must keep working): for a
 * relative CONNREFUSE_CONFIG, joined once at start-up. -1 if it does not
 * fit or the directory cannot be named. */
int cr_config_absolute(const char *path, char *out, size_t size);
/* The same against dir (NULL: the current directory). */
int cr_path_join(const char *dir, const char *path, char *out, size_t size);

/* The folder a program's relative paths are joined with, once, at its
 * start: given (CONNREFUSE_START_DIR, which connrefuse run sets so that all
 * its programs agree; read by the caller) when it is absolute, else the
 * current directory. -1 if it cannot be named. */
int cr_start_dir(const char *given, char *out, size_t size);
/* A relative log.file of lc made absolute against dir (the start folder):
 * a later chdir() of the program does not move its lines. -1, the file
 * left as it is, if dir is unknown or the path does not fit. */
struct cr_log_conf;
int cr_log_file_absolute(struct cr_log_conf *lc, const char *dir);

#endif
