/* What the kernel program (connaudit.bpf.c) hands the auditor through its
 * ring buffer, one record a failed connect: the owner recorded when the
 * connect started (in the connecting task's context), the destination and
 * the error read when the kernel gave up. Shared by both sides: fixed-width
 * types only, the same layout in BPF and in user space. */
#ifndef CR_AUDIT_EVENT_H
#define CR_AUDIT_EVENT_H

#define CR_AUDIT_COMM_LEN 16

/* Why a record was made. */
enum cr_audit_kind {
	CR_AUDIT_CONNECT = 1, /* the connect failed (SYN_SENT to CLOSE with an error) */
	CR_AUDIT_RESET = 2,   /* reset once established, before a byte came back */
	CR_AUDIT_UDP = 3,     /* an ICMP error on a connected UDP socket */
};

struct cr_audit_record {
	__u64 cgroup_id; /* cgroup v2 id of the task (0: none) */
	__u32 tgid, pid; /* process and thread */
	__u32 uid, euid; /* real and effective, in the initial user namespace */
	__u32 kind;      /* enum cr_audit_kind */
	__s32 err;       /* sk_err: ECONNREFUSED, ETIMEDOUT, ... */
	__u16 family;    /* AF_INET or AF_INET6 */
	__u16 dport;     /* host order */
	__u8 daddr[16];  /* AF_INET: the first 4 bytes */
	char comm[CR_AUDIT_COMM_LEN];
};

#endif
