/* connrefuse — public API: version and error decoding.
 *
 * The preload library (libconnrefuse.so) exports these functions next to the
 * interposed ones, so a program or script can decode errors with the very
 * table the log lines are written from. */
#ifndef CONNREFUSE_H
#define CONNREFUSE_H

#ifdef __cplusplus
extern "C" {
#endif

#define CONNREFUSE_VERSION "0.1.0"

/* The version of the library actually loaded (may differ from the header). */
const char *connrefuse_version(void);

/* One decoded error. Every pointer is to static storage or NULL.
 * The record is errno-centred: decoding WSAECONNREFUSED (10061) gives the
 * same record as decoding ECONNREFUSED (111). A Winsock code without a POSIX
 * equivalent gives a record whose errno_name is NULL. */
struct connrefuse_error {
	const char *errno_name; /* "ECONNREFUSED", or NULL */
	int errno_code;         /* 111 (-2 for EAI_NONAME), or 0 */
	const char *wsa_name;   /* "WSAECONNREFUSED", or NULL */
	int wsa_code;           /* 10061, or 0 */
	const char *desc;       /* "Connection refused" */
	const char *hint;       /* one line: what it means for a connect(), or NULL */
	const char *causes;     /* common causes, or NULL */
	const char *fix;        /* what to do, or NULL */
	const char *related;    /* related error names, space separated, or NULL */
};

/* Decode "111", "0x6f", "ECONNREFUSED", "10061", "0x274D", "WSAECONNREFUSED"
 * (names case-insensitive; aliases such as EWOULDBLOCK accepted), and the
 * resolver's codes: "-2" or "EAI_NONAME" (getaddrinfo's, negative), or an
 * h_errno name such as "HOST_NOT_FOUND" (the getaddrinfo code it stands for).
 * Returns 0 and fills *out, or -1 when the text names no known error. */
int connrefuse_decode(const char *text, struct connrefuse_error *out);

/* Decode a number: an errno value, a getaddrinfo code (< 0), or a Winsock
 * code (>= 10000). */
int connrefuse_decode_errno(int errnum, struct connrefuse_error *out);
int connrefuse_decode_wsa(int wsa_code, struct connrefuse_error *out);

#ifdef __cplusplus
}
#endif

#endif
