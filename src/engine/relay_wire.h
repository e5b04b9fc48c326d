/* What the library and the relay (src/relay/) say to each other, over the
 * relay's unix socket (CONNREFUSE_RELAY), for one connect that a rule with
 * reset, close or stall, or a pass that shapes, decided. Nothing of it reaches the program's
 * socket: the program sees no extra byte.
 *
 *   library -> relay   struct cr_relay_ask: the original destination, the
 *                      fault, who asks
 *   relay              connects to the destination first
 *   relay -> library   struct cr_relay_answer: the destination's refusal or
 *                      error (the library then makes the real connect, so
 *                      the kernel answers the program as it would have), or
 *                      a loopback port of the relay's to connect to instead
 *   library            connects the program's socket to that port
 *   library -> relay   struct cr_relay_bound: the program socket's local
 *                      port, so the relay takes that connection and no other
 *
 * Both ends are built from one tree: the version is checked, not
 * negotiated. The relay trusts nothing in an ask beyond its sizes. */
#ifndef CR_RELAY_WIRE_H
#define CR_RELAY_WIRE_H

#include "logfmt.h"
#include "rules.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define CR_RELAY_MAGIC 0x63726c79u /* "crly" */
#define CR_RELAY_VERSION 2         /* 2: the shape */
/* The environment variable that names the relay's socket (connrefuse run). */
#define CR_RELAY_ENV "CONNREFUSE_RELAY"

struct cr_relay_ask {
	uint32_t magic, version;
	struct sockaddr_storage dst; /* the destination the program asked for */
	uint32_t dst_len;
	int32_t family; /* where the relay listens: AF_INET (127.0.0.1), AF_INET6 (::1) */
	uint8_t action; /* CR_ACT_RESET, CR_ACT_CLOSE, CR_ACT_STALL; CR_ACT_PASS: shaped only */
	uint8_t level;  /* the attempt's log level (enum cr_level) */
	uint8_t reserved[2];
	struct cr_fault fault;
	struct cr_shape shape;
	char rule[CR_RULE_NAME_MAX + 1];
	char host[256]; /* the name the program resolved, or "" */
	char comm[16];
};

enum cr_relay_status {
	CR_RELAY_OK,      /* port: connect there */
	CR_RELAY_FAILED,  /* err: the destination's own answer; make the real connect */
	CR_RELAY_FULL,    /* no descriptor left: pass untouched (the relay counts it) */
	CR_RELAY_REFUSED, /* the ask was not understood or not allowed */
};

struct cr_relay_answer {
	uint32_t magic;
	int32_t status; /* enum cr_relay_status */
	int32_t err;
	uint16_t port; /* host order */
	uint16_t reserved;
};

struct cr_relay_bound {
	uint32_t magic;
	uint16_t port; /* host order; 0: the program's connect failed, give up */
	uint16_t reserved;
};

/* Sends (out) or receives exactly n bytes of a message on fd, a
 * non-blocking exchange bounded by deadline (cr_monotonic_now seconds): 0;
 * -1 when the other end closed or failed (errno); -2 when the deadline
 * passed. Both ends use it: neither waits on the other for good. */
int cr_relay_exchange(int fd, void *buf, size_t n, bool out, double deadline);

#endif
