/* The filter of run --seccomp, installed in the child before it executes
 * the program, and the hand-over of its listener to the supervisor. */
#define _GNU_SOURCE
#include "seccomp.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#if defined(__x86_64__)
#define CR_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define CR_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

#define FASTOPEN 0x20000000 /* MSG_FASTOPEN */

#ifdef CR_AUDIT_ARCH
/* connect always; sendto and sendmsg only with MSG_FASTOPEN in their flags
 * (argument 3 and 2); execve and execveat, so that the supervisor knows when
 * a process becomes another program; getsockopt(SOL_SOCKET, SO_ERROR) when
 * some rule fails non-blocking sockets with an errno other than the
 * refusal (instruction GETSOCKOPT is patched out otherwise); getpeername
 * when some rule has a fault after connect (GETPEERNAME, the same);
 * everything else, and other ABIs, untouched. */
#define GETPEERNAME 4
#define GETSOCKOPT 10
static struct sock_filter filter[] = {
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, CR_AUDIT_ARCH, 1, 0),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getpeername, 15, 0),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_connect, 14, 0),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_execve, 13, 0),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_execveat, 12, 0),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_sendto, 2, 0),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_sendmsg, 3, 0),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getsockopt, 4, 8),
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[3])),
	BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, FASTOPEN, 7, 6),
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])),
	BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, FASTOPEN, 5, 4),
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SOL_SOCKET, 0, 2),
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SO_ERROR, 1, 0),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
};
#endif

static void send_text(int sock, const char *what)
{
	char msg[512];
	int n = snprintf(msg, sizeof msg, "%s: %s", what, strerror(errno));
	if (n > 0 && write(sock, msg, (size_t)n) < 0) {
		/* the parent reports a missing listener anyway */
	}
}

/* The listener passes from the child to the parent as one byte with the
 * descriptor attached (SCM_RIGHTS); a child that failed sends text instead. */
union fd_control {
	char buf[CMSG_SPACE(sizeof(int))];
	struct cmsghdr align;
};

static bool send_fd(int sock, int fd)
{
	char byte = 0;
	struct iovec iov = { &byte, 1 };
	union fd_control ctl;
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &mh, 0) == 1;
}

int cr_sv_recv_listener(int sock, char *msg, size_t size)
{
	char byte = 0;
	struct iovec iov = { &byte, 1 };
	union fd_control ctl;
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf
	};
	ssize_t got = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	struct cmsghdr *cm = got == 1 ? CMSG_FIRSTHDR(&mh) : NULL;
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
		int fd;
		memcpy(&fd, CMSG_DATA(cm), sizeof(int));
		return fd;
	}
	size_t n = 0;
	if (got == 1) {
		msg[n++] = byte;
		ssize_t more = read(sock, msg + 1, size - 2);
		n += more > 0 ? (size_t)more : 0;
	}
	msg[n] = '\0';
	return -1;
}

void cr_sv_child(int sock, char **prog, bool trap_so_error, bool trap_peer)
{
#ifdef CR_AUDIT_ARCH
	if (!trap_so_error)
		filter[GETSOCKOPT].k = 0xffffffffu; /* no such system call */
	if (!trap_peer)
		filter[GETPEERNAME].k = 0xffffffffu;
	struct sock_fprog fprog = { .len = sizeof filter / sizeof filter[0], .filter = filter };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		send_text(sock, "prctl(PR_SET_NO_NEW_PRIVS)");
		_exit(125);
	}
	/* SPEC_ALLOW: the filter intercepts, it does not confine; without it,
	 * kernels whose store-bypass mitigation follows seccomp would slow
	 * every load the program makes. */
	int listener = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
				    SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_SPEC_ALLOW, &fprog);
	if (listener < 0) {
		send_text(sock, "seccomp(SECCOMP_FILTER_FLAG_NEW_LISTENER)");
		_exit(125);
	}
	if (!send_fd(sock, listener))
		_exit(125);
	close(listener);
	close(sock);
	execvp(prog[0], prog);
	fprintf(stderr, "connrefuse: cannot run %s: %s\n", prog[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
#else
	(void)prog, (void)trap_so_error, (void)trap_peer;
	errno = ENOSYS;
	send_text(sock, "run --seccomp on this architecture");
	_exit(125);
#endif
}
