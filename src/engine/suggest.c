#include "suggest.h"

#include <ctype.h>
#include <string.h>

/* Levenshtein distance, case-insensitive; words longer than 63 are far. */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64];
	if (la > 63 || lb > 63)
		return 64;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
			size_t best = diag + cost;
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

const char *cr_suggest(const char *word, size_t n, const char *(*name)(size_t i, const void *arg), const void *arg)
{
	const char *best = NULL;
	size_t best_d = 64, limit = strlen(word) < 6 ? 1 : 2;
	for (size_t i = 0; i < n; i++) {
		const char *cand = name(i, arg);
		size_t d = cand ? distance(word, cand) : 64;
		if (d < best_d) {
			best_d = d;
			best = cand;
		}
	}
	return best_d <= limit ? best : NULL;
}
