/* The config text before libconfig reads it: integer literals outside 32
 * bits marked as 64-bit (libconfig 1.5 would cut them silently), and one
 * outside 64 bits an error naming its line. */
#ifndef CR_CONFIG_TEXT_H
#define CR_CONFIG_TEXT_H

#include <stddef.h>

/* 0 with *out NULL: text is read as it is (most files); 0 with *out a new
 * text for libconfig; -1 with "NAME:LINE: problem" in err. */
int cr_config_prepare(const char *text, char **out, const char *name, char *err, size_t errsize);

/* libconfig's message about line `line` of text, with what is wrong and
 * how to write it where the common mistakes can be recognised (mixed types
 * in an array, a comma after the last element, a missing comma between
 * groups, an unquoted string); otherwise "NAME:LINE: message". */
void cr_config_explain(const char *text, const char *name, unsigned line, const char *msg, char *out, size_t size);

#endif
