/* Inside the image code (image.c, image_build.c): what both halves share.
 * Nothing else includes this. */
#ifndef CR_IMAGE_IMPL_H
#define CR_IMAGE_IMPL_H

#include "rules_impl.h"

/* Byte order and the sizes a reader's structs must have. */
#define CR_IMAGE_LAYOUT                                                                                  \
	((uint32_t)(sizeof(void *) << 24 | sizeof(struct cr_rule) << 16 | sizeof(struct cr_sched) << 8 | \
		    (*(const uint16_t *)"\x01\x02" == 0x0201 ? 1 : 2)))

/* Every section starts on a cache line. */
#define ALIGN 64u

#endif
