/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Strict decimal parsing for ids and counts; see parse_int.h. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse_int.h"

int parse_u32_n(const char *s, size_t len, uint32_t min, uint32_t max,
		uint32_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || s[0] < '0' || s[0] > '9')
		return -ECANCELED;
	for (i = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v > UINT32_MAX)
			v = (uint64_t)UINT32_MAX + 1; /* saturate, keep scanning */
	}
	if (i < len)
		return -ENOTSUP;
	if (v < min || v > max)
		return -ERANGE;
	*out = (uint32_t)v;
	return 0;
}

int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	return parse_u32_n(s, strlen(s), min, max, out);
}

const char *parse_u32_reason(int r)
{
	switch (r) {
	case -ECANCELED:
		return "not a number";
	case -ENOTSUP:
		return "trailing characters after the number";
	case -ERANGE:
		return "number out of range";
	default:
		return "invalid number";
	}
}

const char *fmt_count(unsigned long long n, char buf[32])
{
	char tmp[32];
	int len = snprintf(tmp, sizeof(tmp), "%llu", n), i, o = 0;

	for (i = 0; i < len; i++) {
		if (i && (len - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = tmp[i];
	}
	buf[o] = '\0';
	return buf;
}
