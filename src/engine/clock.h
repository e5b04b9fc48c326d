/* Time, as both front ends keep it: monotonic seconds for schedules and
 * reload checks, and a delay that a signal does not shorten. */
#ifndef CR_CLOCK_H
#define CR_CLOCK_H

double cr_monotonic_now(void);
/* Sleeps ms in full. nanosleep is a cancellation point, as the connect()
 * a delay stands for is. */
void cr_sleep_ms(unsigned ms);

#endif
