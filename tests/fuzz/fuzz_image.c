/* Fuzz target: compiled rule files, the untrusted input a process maps.
 * Any bytes either open as a rule set that turns back into a draft, prints and decides
 * without reading outside the image (ASan watches), or are refused with
 * one "NAME: problem" message; never a crash or a hang. */
#include "engine/image.h"
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The image exactly as long as the input (ASan sees a read past it),
	 * on the alignment a mapping has. */
	void *img = aligned_alloc(64, size ? (size + 63) / 64 * 64 : 64);
	if (!img)
		return 0;
	memcpy(img, data, size);
	/* The header's spare word, odd: the section table's checksum is made
	 * right, so that changed table entries reach the checks themselves. */
	struct cr_image_header *h = img;
	if (size >= sizeof *h && (h->reserved & 1) && h->nsections <= 64 &&
	    sizeof *h + (size_t)h->nsections * sizeof(struct cr_image_section) <= size)
		h->table_sum = cr_image_hash((char *)img + sizeof *h, h->nsections * sizeof(struct cr_image_section),
					     h->file_size);
	char err[512];
	memset(err, 'x', sizeof err);
	struct cr_ruleset *rs = cr_image_open(img, size, CR_IMAGE_BORROWED, "fuzz.compiled", err, sizeof err);
	if (!rs) {
		FUZZ_ASSERT(memchr(err, '\0', sizeof err) != NULL);
		FUZZ_ASSERT(strncmp(err, "fuzz.compiled: ", 15) == 0);
	} else {
		cr_image_verify(rs, err, sizeof err);
		fuzz_exercise(rs);
		/* A reload from the same image: every scheduled rule continues. */
		struct cr_ruleset *again = cr_image_open(img, size, CR_IMAGE_BORROWED, "fuzz.compiled", err,
							 sizeof err);
		FUZZ_ASSERT(again != NULL);
		cr_ruleset_adopt_state(again, rs);
		cr_ruleset_free(rs);
		fuzz_exercise(again);
		cr_ruleset_free(again);
	}
	free(img);
	return 0;
}
