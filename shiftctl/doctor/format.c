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

