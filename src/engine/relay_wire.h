/* What the library and the relay (src/relay/) say to each other, over the
 * relay's unix socket (CONNREFUSE_RELAY), for one connect that a rule with
 * reset, close or stall, or a pass that shapes, decided. Nothing of it reaches the program's
 * socket: the program sees no extra byte.
 *
 *   library -> relay   struct cr_relay_ask: the original destination, the
 *                      fault, who asks (under run --seccomp the supervisor
 *                      takes the library's part, on the program's socket)
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

#include "decide.h"
#include "logfmt.h"
#include "logsink.h"
#include "rules.h"

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define CR_RELAY_MAGIC 0x63726c79u /* "crly" */
#define CR_RELAY_VERSION 3         /* 3: the shape */
/* How long an asker waits for the relay: the relay's own wait for the
 * destination (3 s, relay.c) and a margin. */
#define CR_RELAY_WAIT_S 5.0
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
	/* The program's process when the asker is the relay's own process
	 * (run --seccomp's supervisor asks for its program); otherwise 0, and
	 * the relay takes the asker's own (SO_PEERCRED). */
	int32_t pid;
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

/* ---- the asker's side, for the library and the seccomp supervisor ---- */

/* A unix socket connected to the relay at path: the descriptor (close on
 * exec), or -1 with errno (ENAMETOOLONG: no unix socket takes that path). */
int cr_relay_dial(const char *path);
/* The ask for a connect to sa (len bytes, at most a sockaddr_storage) on a
 * socket of family domain, that v decided (v->relay); rule and host may be
 * NULL. Zeroed whole first: no other byte of the asker's goes out. */
void cr_relay_ask_make(struct cr_relay_ask *a, const struct sockaddr *sa, socklen_t len, int domain,
		       const struct cr_verdict *v, const char *rule, const char *host, const char *comm);

/* Says why a fault after connect was not made, once (*said), on stderr
 * if to_stderr and in log's sinks: "rule R: a fault after connect needs
 * a relay, and WHY: its connections pass untouched" ("shaping needs" for
 * a pass that shapes: shapes_only). */
void cr_relay_unreached(atomic_bool *said, const struct cr_log_conf *log, bool to_stderr, const char *rule,
			bool shapes_only, const char *why);

struct cr_relay_result {
	int io;        /* 0: the relay answered; -1: it closed without answering; -2: not in time */
	int status;    /* its answer (enum cr_relay_status), when it answered */
	uint16_t port; /* CR_RELAY_OK: the relay's loopback port */
	int ret, err;  /* the program socket's connect to it: the return and its errno (0 if none) */
	bool named;    /* the relay was told the socket's local port: it takes that connection */
};

/* One relayed connect: asks the relay (ctl, from cr_relay_dial) with a;
 * when the relay connected to the destination, connects fd (the program's
 * socket, or a duplicate of it: the program's own blocking mode) to the
 * relay's loopback port with connect_fn, then names fd's local port to the
 * relay. True when fd's connect was made (r->ret, r->err: what the program
 * sees); false when the connection is to pass untouched (the real connect
 * then gets the kernel's own answer): r->io and r->status say why. */
bool cr_relay_divert_fd(int ctl, int fd, const struct cr_relay_ask *a,
			int (*connect_fn)(int, const struct sockaddr *, socklen_t), double deadline,
			struct cr_relay_result *r);
/* The port (host order) of an IPv4 or IPv6 address. */
uint16_t cr_relay_port_of(const struct sockaddr_storage *ss);
/* The WHY of cr_relay_unreached for a relay that did not answer (r->io). */
const char *cr_relay_silence(int io);

#endif
