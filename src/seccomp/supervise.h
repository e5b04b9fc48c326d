/* run --seccomp: the rules for the programs the preload library cannot see
 * (static binaries, raw system calls, Go), without preloading anything.
 *
 * The program and everything it starts run under a seccomp filter that
 * hands each connect() (and sendto/sendmsg with MSG_FASTOPEN) to this
 * process, the supervisor, which reads the destination from the program's
 * memory and decides with the same engine as the library (decide.h). A call
 * that passes continues in the kernel untouched; a simulated failure is made
 * on the program's own socket (a duplicate taken with pidfd_getfd) by the
 * kernel, through the same loopback port-0 sink as the library uses; a fault
 * after connect by connecting that socket to the relay (getpeername, then
 * trapped, says the destination). */
#ifndef CR_SUPERVISE_H
#define CR_SUPERVISE_H

/* Runs prog under supervision with the rules of the file config (NULL: no
 * rules, audit only); the file is watched and reloaded as the library
 * does; relay (NULL: none) is the relay of faults after connect. Returns the program's wait status (a program that cannot be run
 * exits 126 or 127, as run's does); or -1 after printing why supervision
 * cannot be set up, and the program is not run. */
/* The relay of faults after connect (reset, close, stall), which the
 * command hosts (cli/run.c): the supervisor asks it for the program. */
struct cr_sv_relay {
	const char *path;         /* its socket */
	void (*start)(void *arg); /* called once, after the program's fork */
	void *arg;
};

int cr_supervise(const char *config, char **prog, const struct cr_sv_relay *relay);

#endif
