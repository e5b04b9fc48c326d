/* The library is built with -fvisibility=hidden: only what is marked here
 * (the interposed functions and the public API) is exported. */
#ifndef CR_EXPORT_H
#define CR_EXPORT_H
#define CR_EXPORT __attribute__((visibility("default")))
#endif
