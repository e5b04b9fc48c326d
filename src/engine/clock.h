/* Time, as both front ends keep it: monotonic seconds for schedules and
 * reload checks, and a delay that a signal does not shorten. */
#ifndef CR_CLOCK_H
#define CR_CLOCK_H

#include <errno.h>
#include <time.h>

double cr_monotonic_now(void);

/* Sleeps ms in full. nanosleep is a cancellation point, as the connect()
 * a delay stands for is. Inline: a thread cancelled here unwinds through
 * the caller's frame alone (no frame of its own left below it, which
 * AddressSanitizer's unwinding trips on). */
static inline void cr_sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

#endif
