/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Text helpers of the doctor engine and its report: bounded snprintf and
 * counts with thousands separators.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "doctor.h"

int bfmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return r;
}

const char *fmt_count(uint64_t n, char buf[32])
{
	char tmp[32];
	int len = bfmt(tmp, sizeof(tmp), "%llu", (unsigned long long)n);
	int i, o = 0;

	for (i = 0; i < len; i++) {
		if (i && (len - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = tmp[i];
	}
	buf[o] = '\0';
	return buf;
}
