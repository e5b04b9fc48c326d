/* The kernel side of `connrefuse audit`: every failed TCP connect of the
 * machine, whatever made it. When a socket enters SYN_SENT the connecting
 * task is current: its pid, uid, comm and cgroup are kept, keyed by the
 * socket. When the kernel gives the connect up (SYN_SENT to CLOSE, sk_err
 * set: refused, timed out, unreachable; or closed by its program after a
 * soft error, below) or the peer resets an established
 * connection before sending a byte, a record goes to the ring buffer; the
 * error may arrive in softirq context, where current is someone else.
 * Left out: the library's own sinks (port 0 on loopback; a timeout at one
 * of its drop listeners, loopback listeners with a backlog of 0).
 * Records the ring buffer cannot take are counted (`lost`), never silent.
 * Compiled with clang -target bpf, CO-RE against the kernel's BTF. */
#include <vmlinux.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "event.h"

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define TCP_ESTABLISHED 1
#define TCP_SYN_SENT 2
#define TCP_SYN_RECV 3
#define TCP_CLOSE 7
#define TCP_LISTEN 10
#define ETIMEDOUT 110
#define ECONNRESET 104

char LICENSE[] SEC("license") = "GPL";

/* Set by the loader before loading: the scope. */
const volatile __u32 want_uid = 0;
const volatile bool by_uid = false;
const volatile bool by_cgroup = false;

/* Records the ring buffer could not take, and failed connects whose
 * owner was not kept (in flight before the auditor started, or forgotten):
 * lines that could not be made. */
__u64 lost = 0;

struct owner {
	__u64 cgroup_id;
	__u32 tgid, pid, uid, euid;
	__u32 live;     /* 0: none (its socket is past the connect) */
	__u32 soft_err; /* an error reported while connect() held the socket (error_report) */
	__u64 cookie;   /* the socket's, unique for its life: an entry of a socket gone never matches */
	char comm[CR_AUDIT_COMM_LEN];
};

/* The owner of each connect in flight, and of each connection established
 * and not yet closed, by socket: filled at SYN_SENT, emptied when the
 * socket closes with an error; the others age out (least recently used). Preallocated: a
 * socket's own storage (BPF_MAP_TYPE_SK_STORAGE) costs an allocation per
 * connect and a deferred free per socket, measured at 5% of a loopback
 * connect loop (doc/maintainers/performance.md); an LRU table, the same
 * lookups without either. Its size bounds the connects in flight followed
 * at once; past it the oldest are forgotten, not mistaken. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct owner);
} owners SEC(".maps");

/* The owner of each connected UDP socket, by socket cookie: kept when it
 * connects (cgroup/connect4, connect6: in the connecting task), read when
 * the kernel reports an ICMP error on it. Its size bounds the UDP sockets
 * followed at once; past it the oldest are forgotten, not mistaken. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct owner);
} udp_owners SEC(".maps");

/* --cgroup: the cgroup (v2) whose tasks, and its descendants', are audited. */
struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} scope SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024); /* the loader may set another size */
} events SEC(".maps");

/* Listeners with a backlog of 0 on loopback, by network namespace and
 * port: the library's drop listeners (engine/drop.h) look so. */
struct drop_listener {
	__u32 netns;
	__u32 port;
};
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct drop_listener);
	__type(value, __u8);
} drop_listeners SEC(".maps");

static bool loopback(const struct sock *sk)
{
	if (sk->__sk_common.skc_family == AF_INET)
		return (bpf_ntohl(sk->__sk_common.skc_daddr) >> 24) == 127;
	const __u32 *a = sk->__sk_common.skc_v6_daddr.in6_u.u6_addr32;
	if (a[0] == 0 && a[1] == 0 && a[2] == 0 && a[3] == bpf_htonl(1))
		return true; /* ::1 */
	return a[0] == 0 && a[1] == 0 && a[2] == bpf_htonl(0xffff) && (bpf_ntohl(a[3]) >> 24) == 127;
}

/* Port 0 on loopback: the library's sink for simulated refusals, where
 * nothing can listen; the kernel's refusal there is the library's to log. */
static bool library_sink(const struct sock *sk)
{
	return sk->__sk_common.skc_dport == 0 && loopback(sk);
}

/* A connect that timed out at a drop listener of the library: a SYN that
 * its full one-slot queue dropped until the retries were spent. The
 * library logged it as dropped when it was made. */
static bool library_drop(const struct sock *sk, int err)
{
	if (err != ETIMEDOUT || !loopback(sk))
		return false;
	struct drop_listener l = { .netns = sk->__sk_common.skc_net.net->ns.inum,
				   .port = bpf_ntohs(sk->__sk_common.skc_dport) };
	return bpf_map_lookup_elem(&drop_listeners, &l) != NULL;
}

static void listening(const struct sock *sk, bool start)
{
	struct drop_listener l = { .netns = sk->__sk_common.skc_net.net->ns.inum, .port = sk->__sk_common.skc_num };
	if (!start) {
		bpf_map_delete_elem(&drop_listeners, &l);
	} else if (sk->sk_max_ack_backlog == 0) {
		__u8 one = 1;
		bpf_map_update_elem(&drop_listeners, &l, &one, BPF_ANY);
	}
}

/* The connecting task, current here, kept in the socket's storage, unless
 * the scope leaves it out. Written in place; the task's fields read
 * directly (BTF), not through helpers. */
static void remember(const struct sock *sk)
{
	__u64 id = bpf_get_current_uid_gid();
	if (by_uid && (__u32)id != want_uid)
		return;
	if (by_cgroup && bpf_current_task_under_cgroup(&scope, 0) != 1)
		return;
	struct task_struct *t = bpf_get_current_task_btf();
	struct owner o = {
		.cgroup_id = bpf_get_current_cgroup_id(),
		.tgid = t->tgid,
		.pid = t->pid,
		.uid = (__u32)id,
		.euid = t->cred->euid.val,
		.live = 1,
		.cookie = bpf_get_socket_cookie((void *)sk),
	};
	__builtin_memcpy(o.comm, t->group_leader->comm, sizeof o.comm);
	__u64 key = (__u64)sk;
	bpf_map_update_elem(&owners, &key, &o, BPF_ANY);
}

/* A record: the destination as family, port (network order) and address. */
static void report(const struct owner *o, __u32 kind, int err, __u16 family, __u16 dport, const void *daddr)
{
	struct cr_audit_record *r = bpf_ringbuf_reserve(&events, sizeof *r, 0);
	if (!r) {
		__sync_fetch_and_add(&lost, 1);
		return;
	}
	r->cgroup_id = o->cgroup_id;
	r->tgid = o->tgid;
	r->pid = o->pid;
	r->uid = o->uid;
	r->euid = o->euid;
	r->kind = kind;
	r->err = err;
	r->family = family;
	r->dport = bpf_ntohs(dport);
	__builtin_memset(r->daddr, 0, sizeof r->daddr);
	bpf_probe_read_kernel(r->daddr, family == AF_INET ? 4 : 16, daddr);
	__builtin_memcpy(r->comm, o->comm, sizeof r->comm);
	bpf_ringbuf_submit(r, 0);
}

static void report_sock(const struct sock *sk, const struct owner *o, __u32 kind, int err)
{
	__u16 family = sk->__sk_common.skc_family;
	const void *a = family == AF_INET ? (const void *)&sk->__sk_common.skc_daddr
					  : (const void *)&sk->__sk_common.skc_v6_daddr;
	report(o, kind, err, family, sk->__sk_common.skc_dport, a);
}

/* The owner kept for this socket (and not for an earlier one at the same
 * address), or NULL. */
static struct owner *owner_of(const struct sock *sk, __u64 *key)
{
	__u64 cookie = bpf_get_socket_cookie((void *)sk);
	struct owner *o = bpf_map_lookup_elem(&owners, key);
	return o && o->live && o->cookie == cookie ? o : NULL;
}

/* No byte came from the peer (the kernel's own count). */
static bool received_nothing(const struct sock *sk)
{
	struct tcp_sock *tp = bpf_skc_to_tcp_sock((void *)sk);
	return tp && tp->bytes_received == 0;
}

/* Every state change of every socket of the machine passes here, most of
 * them of connections that work: the tests that let those go come first,
 * on the arguments alone, before any read of the socket or helper call.
 * Kept: to SYN_SENT (a connect starts), from SYN_SENT or SYN_RECV (a
 * simultaneous open) to CLOSE, ESTABLISHED to CLOSE (a reset), and a
 * listener's start and end. Measured: doc/maintainers/performance.md. */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(set_state, const struct sock *sk, const int oldstate, const int newstate)
{
	if (newstate == TCP_SYN_SENT) {
		if (sk->sk_protocol == IPPROTO_TCP && !library_sink(sk))
			remember(sk);
		return 0;
	}
	if (newstate == TCP_LISTEN || oldstate == TCP_LISTEN) {
		/* (A connection a listener takes in starts as its clone: from
		 * LISTEN to SYN_RECV. The listener itself closes to CLOSE.) */
		if ((newstate == TCP_LISTEN || newstate == TCP_CLOSE) && sk->sk_protocol == IPPROTO_TCP)
			listening(sk, newstate == TCP_LISTEN);
		return 0;
	}
	if (newstate != TCP_CLOSE)
		return 0;
	if (oldstate != TCP_SYN_SENT && oldstate != TCP_SYN_RECV && oldstate != TCP_ESTABLISHED)
		return 0;
	/* A connection closed with no error is left to age out of the table:
	 * deleting it would cost each working connection a locked lookup. A
	 * connect closed with none is rare, and may have had a soft one. */
	int err = sk->sk_err;
	if (!err && oldstate != TCP_SYN_SENT)
		return 0;
	__u64 key = (__u64)sk;
	struct owner *o = owner_of(sk, &key);
	if (!o) {
		/* A connect that failed with no owner kept: counted, unless the
		 * scope left it out (which cannot be told here) or it was the
		 * library's sink. */
		if (err && oldstate == TCP_SYN_SENT && !by_uid && !by_cgroup && !library_sink(sk))
			__sync_fetch_and_add(&lost, 1);
		return 0;
	}
	if (!err)
		err = o->soft_err;
	if (err && oldstate != TCP_ESTABLISHED && !library_drop(sk, err))
		report_sock(sk, o, CR_AUDIT_CONNECT, err);
	else if (oldstate == TCP_ESTABLISHED && err == ECONNRESET && received_nothing(sk))
		report_sock(sk, o, CR_AUDIT_RESET, err);
	bpf_map_delete_elem(&owners, &key);
	return 0;
}

/* A UDP socket connects: its owner is current. Attached to the cgroup of
 * the scope (the root without --cgroup), so the cgroup needs no test here.
 * Every connect passes: nothing is refused. TCP connects return at once:
 * their owner is kept at SYN_SENT. */
static int udp_connect(struct bpf_sock_addr *ctx)
{
	if (ctx->protocol != IPPROTO_UDP)
		return 1;
	__u64 id = bpf_get_current_uid_gid();
	if (by_uid && (__u32)id != want_uid)
		return 1;
	__u64 tgid_pid = bpf_get_current_pid_tgid();
	struct owner o = {
		.cgroup_id = bpf_get_current_cgroup_id(),
		.tgid = tgid_pid >> 32,
		.pid = (__u32)tgid_pid,
		.uid = (__u32)id,
		.euid = (__u32)id, /* (the task's credentials are out of reach here) */
		.live = 1,
		.cookie = bpf_get_socket_cookie(ctx),
	};
	bpf_get_current_comm(o.comm, sizeof o.comm);
	bpf_map_update_elem(&udp_owners, &o.cookie, &o, BPF_ANY);
	return 1;
}

SEC("cgroup/connect4")
int udp_connect4(struct bpf_sock_addr *ctx)
{
	return udp_connect(ctx);
}

SEC("cgroup/connect6")
int udp_connect6(struct bpf_sock_addr *ctx)
{
	return udp_connect(ctx);
}

/* The kernel reports an error on a socket. Errors are rare: this runs only
 * for them.
 * UDP: an ICMP error the kernel hands a connected socket (port unreachable:
 * ECONNREFUSED; admin-prohibited: EHOSTUNREACH; the soft ones only to a
 * socket that asked with IP_RECVERR), one line each.
 * TCP: an ICMP error (a reject made on this host: at once, inside connect())
 * that reaches a connect while its task holds the socket is kept by the
 * kernel as a soft error: connect() goes on, SO_ERROR hands it over and
 * clears it, and the program, told its connect failed, closes a socket
 * with no error on it (curl, Go, io_uring always here; a blocking connect
 * waits for the retry's answer instead). Kept here, it is the error of
 * that close. */
SEC("tp_btf/inet_sk_error_report")
int BPF_PROG(error_report, const struct sock *sk)
{
	if (sk->sk_protocol == IPPROTO_UDP) {
		int err = sk->sk_err;
		if (!err || sk->__sk_common.skc_state != TCP_ESTABLISHED)
			return 0;
		__u64 cookie = bpf_get_socket_cookie((void *)sk);
		struct owner *o = bpf_map_lookup_elem(&udp_owners, &cookie);
		if (o)
			report_sock(sk, o, CR_AUDIT_UDP, err);
		return 0;
	}
	if (sk->__sk_common.skc_state != TCP_SYN_SENT || sk->sk_protocol != IPPROTO_TCP || sk->sk_err)
		return 0;
	int soft = sk->sk_err_soft;
	if (!soft)
		return 0;
	__u64 key = (__u64)sk;
	struct owner *o = owner_of(sk, &key);
	if (o)
		o->soft_err = soft;
	return 0;
}
