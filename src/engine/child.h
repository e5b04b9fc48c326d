/* The program a command runs: while it runs, the terminal's signals reach
 * it directly and TERM and HUP are passed on; then its wait status. Used by
 * `connrefuse run` and the seccomp supervisor, never by the library. */
#ifndef CR_CHILD_H
#define CR_CHILD_H

#include <sys/types.h>

void cr_child_signals_begin(pid_t child);
/* Waits for the child (through EINTR); returns its wait status. */
int cr_child_wait(pid_t child);
void cr_child_signals_end(void);

#endif
