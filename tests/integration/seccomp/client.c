/* client [pid] [raw] [nonblock] [again] PORT...: one connect to 127.0.0.1:PORT each, a
 * line each: "PORT connected" or "PORT refused" (or the errno's name).
 * Built statically (the preload library cannot see it) and, with "raw",
 * connects through syscall(SYS_connect). With "nonblock": a non-blocking
 * connect, and what the program observes of it, one fact a line:
 * "connect: -1 EINPROGRESS", "poll: OUT|ERR", "so_error: ECONNREFUSED".
 * With "again", a second connect() replaces the SO_ERROR read, as some
 * runtimes do: "again: -1 ECONNREFUSED". With "pid", first "pid N".
 * With "vfork": the first port is connected to by a vfork() child, which
 * then executes this program again for the others (the address lives at
 * one fixed place, so a supervisor reading the parent's memory for the new
 * program would see the first port again). "thread-exec PROGRAM PORT...",
 * after the ports before it: a second thread executes PROGRAM with those
 * ports (a thread other than the first becomes the process's new program);
 * "exec PROGRAM PORT..." the same from the first thread; should the exec
 * fail, "exec failed", and this program goes on with those ports. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *name(int err)
{
	return err == ECONNREFUSED ? "refused" : strerrorname_np(err);
}

static struct sockaddr_in in; /* static: see "vfork" */

/* rest: the port the vfork() child connects to, then those for the program
 * it executes (rest[0] is overwritten with that program's name). */
static int vfork_then_exec(char **rest)
{
	fflush(stdout);
	pid_t child = vfork();
	if (child == 0) {
		in = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(rest[0])) };
		inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		int err = connect(fd, (struct sockaddr *)&in, sizeof in) == 0 ? 0 : errno;
		dprintf(1, "%s %s\n", rest[0], err ? name(err) : "connected");
		close(fd);
		rest[0] = "static-client";
		execv("/proc/self/exe", rest);
		_exit(127);
	}
	int status = 1;
	waitpid(child, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

static void *exec_program(void *argv)
{
	execv(((char **)argv)[0], argv);
	perror("execv");
	exit(127);
}

int main(int argc, char **argv)
{
	int raw = 0, nonblock = 0, again = 0, i = 1;
	for (; i < argc && !(argv[i][0] >= '0' && argv[i][0] <= '9'); i++) {
		if (strcmp(argv[i], "pid") == 0)
			printf("pid %d\n", (int)getpid());
		raw |= strcmp(argv[i], "raw") == 0;
		nonblock |= strcmp(argv[i], "nonblock") == 0;
		again |= strcmp(argv[i], "again") == 0;
		if (strcmp(argv[i], "vfork") == 0 && i + 1 < argc)
			return vfork_then_exec(argv + i + 1);
	}
	for (; i < argc; i++) {
		if (strcmp(argv[i], "exec") == 0 && i + 1 < argc) {
			execv(argv[i + 1], argv + i + 1);
			printf("exec failed\n"); /* then the ports after the program's name */
			fflush(stdout);
			i++;
			continue;
		}
		if (strcmp(argv[i], "thread-exec") == 0 && i + 1 < argc) {
			pthread_t t;
			if (pthread_create(&t, NULL, exec_program, argv + i + 1) != 0)
				return 1;
			pthread_join(t, NULL); /* the exec ends this program first */
			return 1;
		}
		in = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[i])) };
		inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
		int fd = socket(AF_INET, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0);
		long rc = raw ? syscall(SYS_connect, fd, &in, sizeof in)
			      : connect(fd, (struct sockaddr *)&in, sizeof in);
		int err = rc == 0 ? 0 : errno;
		if (!nonblock) {
			printf("%s %s\n", argv[i], err ? name(err) : "connected");
		} else {
			printf("connect: %ld %s\n", rc, err ? strerrorname_np(err) : "-");
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			poll(&p, 1, 5000);
			printf("poll: %s%s%s\n", p.revents & POLLOUT ? "OUT" : "", p.revents & POLLERR ? "|ERR" : "",
			       p.revents & POLLHUP ? "|HUP" : "");
			if (again) {
				rc = connect(fd, (struct sockaddr *)&in, sizeof in);
				printf("again: %ld %s\n", rc, rc ? strerrorname_np(errno) : "-");
			} else {
				int so = 0;
				socklen_t len = sizeof so;
				getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &len);
				printf("so_error: %s\n", so ? strerrorname_np(so) : "0");
			}
		}
		fflush(stdout);
		close(fd);
	}
	return 0;
}
