/* The library loads into glibc 2.17 and later (SPEC.md's bundle), whatever
 * glibc it is built on. glibc 2.34 moved dlsym and the pthread functions
 * into libc.so.6 under a new version (GLIBC_2.34); bound to that version, the
 * library would stop every program of an older userland from starting
 * ("version `GLIBC_2.34' not found"). So each is bound here to its first
 * version, which every glibc since has kept, and the library is linked with
 * libdl.so.2 and libpthread.so.0, where older glibcs define them. The system
 * calls whose wrappers are newer are made directly (engine/sys.h).
 * t_glibc_baseline reads the versions the built library needs. */
#ifndef CR_GLIBC_BASELINE_H
#define CR_GLIBC_BASELINE_H

#if defined(__GLIBC__)
#if defined(__x86_64__)
#define CR_GLIBC_FIRST "GLIBC_2.2.5"
#elif defined(__aarch64__)
#define CR_GLIBC_FIRST "GLIBC_2.17"
#endif
#endif

#ifdef CR_GLIBC_FIRST
__asm__(".symver dlsym, dlsym@" CR_GLIBC_FIRST);
__asm__(".symver pthread_once, pthread_once@" CR_GLIBC_FIRST);
__asm__(".symver pthread_testcancel, pthread_testcancel@" CR_GLIBC_FIRST);
#endif

#endif
