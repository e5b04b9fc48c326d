/* Reading a rules file safely, wherever the path points: only a regular
 * file, no larger than CR_CONFIG_MAX_BYTES, that no user but root or this
 * process's own can change (ssh's StrictModes), read whole into memory. */
#ifndef CR_CONFIG_FILE_H
#define CR_CONFIG_FILE_H

#include <stddef.h>

#define CR_CONFIG_MAX_BYTES (128u << 20)

/* The file's text, NUL-terminated, in a new buffer (*len bytes); or NULL
 * with one message in err: "PATH: what it is and what to do". */
char *cr_config_read_file(const char *path, size_t *len, char *err, size_t errsize);

/* path made absolute against the current directory, symlinks left as they
 * are (a Kubernetes ConfigMap's ..data swap must keep working): for a
 * relative CONNREFUSE_CONFIG, joined once at start-up. -1 if it does not
 * fit or the directory cannot be named. */
int cr_config_absolute(const char *path, char *out, size_t size);

#endif
