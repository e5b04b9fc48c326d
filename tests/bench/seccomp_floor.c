/* seccomp_floor PROGRAM ARGS: runs PROGRAM under a filter that traps
 * connect() as `connrefuse run --seccomp` does, supervised by a loop that
 * answers every call "continue" at once without looking at it. What that
 * costs over bare is the kernel's round trip, the floor under any seccomp
 * supervisor; `make bench` sets connrefuse's figure beside it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "seccomp/seccomp_sync.h"

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	int number[2], go[2];
	if (pipe2(number, O_CLOEXEC) != 0 || pipe2(go, O_CLOEXEC) != 0)
		return 1;
	pid_t child = fork();
	if (child == 0) {
		struct sock_filter filter[] = {
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_connect, 0, 1),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		};
		struct sock_fprog prog = { .len = sizeof filter / sizeof filter[0], .filter = filter };
		int listener = -1;
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0)
			listener = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
						SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_SPEC_ALLOW,
						&prog);
		char ok;
		/* The parent takes the listener with pidfd_getfd, then says go. */
		if (write(number[1], &listener, sizeof listener) != sizeof listener || listener < 0 ||
		    read(go[0], &ok, 1) != 1)
			_exit(125);
		close(listener);
		execvp(argv[1], argv + 1);
		_exit(127);
	}
	int remote = -1, listener = -1, pidfd = (int)syscall(SYS_pidfd_open, child, 0);
	if (read(number[0], &remote, sizeof remote) == sizeof remote && remote >= 0 && pidfd >= 0)
		listener = (int)syscall(SYS_pidfd_getfd, pidfd, remote, 0);
	if (listener < 0 || write(go[1], "g", 1) != 1) {
		perror("seccomp_floor: the listener");
		kill(child, SIGKILL);
		return 1;
	}
	ioctl(listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
	struct seccomp_notif req;
	int status = 0;
	pid_t reaped = 0;
	while (!reaped) {
		memset(&req, 0, sizeof req);
		if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) == 0) {
			struct seccomp_notif_resp resp = { .id = req.id, .flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE };
			ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
		} else if (errno != EINTR) {
			int err = errno;
			reaped = waitpid(child, &status,
					 err == ENOENT ? WNOHANG : 0); /* ENOENT: gone, or a call withdrawn */
		}
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
