/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The project's only integer parser (the strtoul caller), after shadow's
 * lib/atoi/strtoi: a status for every way a token can be wrong.
 */
#ifndef SHIFT_PARSE_INT_H
#define SHIFT_PARSE_INT_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parse the whole of s as a decimal number in [min, max].
 * Returns 0 and sets *out, or:
 *   -ECANCELED  no digits (empty, or a sign, space or other leading junk:
 *               "+5", "-1" and " 5" are all refused, unlike strtoul)
 *   -ENOTSUP    digits followed by trailing junk
 *   -ERANGE     a number outside [min, max]
 */
int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out);

/* Same for a counted token that need not be NUL-terminated. */
int parse_u32_n(const char *s, size_t len, uint32_t min, uint32_t max,
		uint32_t *out);

/* A short English reason for a parse_u32 status ("not a number", ...). */
const char *parse_u32_reason(int r);

/* A count as text output shows it, with thousands separators ("200,201"):
 * the one number format of every verb (JSON has plain numbers). Writes
 * into buf and returns it. */
const char *fmt_count(unsigned long long n, char buf[32]);

#endif
