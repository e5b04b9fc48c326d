/* Destinations: what a connect() aims at, normalised for matching, and the
 * address forms of the config file (addresses and CIDR prefixes). */
#ifndef CR_ADDR_H
#define CR_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

enum cr_family { CR_FAM_NONE = 0, CR_FAM_INET = 4, CR_FAM_INET6 = 6, CR_FAM_UNIX = 1 };

/* A destination. IPv4-mapped IPv6 addresses are held as IPv4 (family
 * CR_FAM_INET, mapped = true), so that IPv4 rules match them. */
struct cr_dest {
	uint8_t family;    /* enum cr_family */
	bool mapped;       /* given as ::ffff:a.b.c.d on an AF_INET6 socket */
	uint16_t port;     /* host order */
	uint8_t addr[16];  /* IPv4 in the first 4 bytes */
	uint32_t scope_id; /* IPv6 */
	uint16_t path_len; /* unix: bytes in path, '@' of an abstract name included */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 2]; /* NUL-terminated too */
};

/* Fills *out from a connect() address. Returns -1 when the address is one the
 * library leaves to the kernel alone: NULL, a length the kernel would reject,
 * AF_UNSPEC or another family. Reads nothing beyond len. */
int cr_dest_from_sockaddr(const struct sockaddr *sa, socklen_t len, struct cr_dest *out);

/* "1.2.3.4:80", "[::1]:80", "[::ffff:1.2.3.4]:80", "/path", "@name".
 * Returns the length written (always NUL-terminated, truncated to size). */
size_t cr_dest_format(const struct cr_dest *d, char *buf, size_t size);

/* A host name a rule may hold: labels of letters, digits, '-' and '_',
 * optionally "*." in front and a dot at the end. */
bool cr_hostname_valid(const char *h);
/* The name as rules keep it: lower case, no trailing dot (malloc'd). */
char *cr_hostname_key(const char *v);

/* The address a simulated refusal connects a socket to: port 0 on
 * loopback, where nothing can listen, in the form the program used
 * (127.0.0.1, ::1, or ::ffff:127.0.0.1 for a v4-mapped destination). The
 * kernel then refuses it exactly as a real refusal. sa_family is the
 * family of the program's address. Returns the length. */
socklen_t cr_sink_address(const struct cr_dest *d, int sa_family, struct sockaddr_storage *out);

/* An address prefix of the config file: "10.0.0.0/8", "::1", "fd00::/8". */
struct cr_prefix {
	uint8_t family; /* CR_FAM_INET or CR_FAM_INET6 */
	uint8_t len;    /* prefix length in bits */
	uint8_t addr[16];
};

enum cr_prefix_status {
	CR_PREFIX_OK,
	CR_PREFIX_NOT_ADDRESS, /* not meant as an address: a hostname, say */
	CR_PREFIX_BAD_ADDRESS, /* meant as one, but invalid (10.0.0.256, 1::2::3) */
	CR_PREFIX_BAD_LEN,     /* "/33", "/x" */
	CR_PREFIX_HOST_BITS,   /* 10.1.2.3/8 */
};
/* Parses text as an address or CIDR. CR_PREFIX_NOT_ADDRESS means the text
 * is not an address at all (a hostname, say); the other failures are errors
 * in something that is meant as one. */
enum cr_prefix_status cr_prefix_parse(const char *text, struct cr_prefix *out);
bool cr_prefix_match(const struct cr_prefix *p, const struct cr_dest *d);
size_t cr_prefix_format(const struct cr_prefix *p, char *buf, size_t size);

#endif
