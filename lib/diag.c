/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Error detail for library callers; see diag.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "diag.h"

int shift_diag_set(struct shift_diag *d, int err, const char *fmt, ...)
{
	va_list ap;

	if (d) {
		va_start(ap, fmt);
		vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
		va_end(ap);
	}
	return -err;
}

void shift_diag_prefix(struct shift_diag *d, const char *fmt, ...)
{
	char prefix[sizeof(d->msg)], old[sizeof(d->msg)];
	va_list ap;

	if (!d)
		return;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, d->msg, sizeof(old));
	/* Truncation is wanted here: the message is a bounded one-liner. */
	size_t plen = strnlen(prefix, sizeof(d->msg) - 1);
	memcpy(d->msg, prefix, plen);
	if (plen + 2 < sizeof(d->msg)) {
		memcpy(d->msg + plen, ": ", 2);
		plen += 2;
	}
	size_t olen = strnlen(old, sizeof(d->msg) - 1 - plen);
	memcpy(d->msg + plen, old, olen);
	d->msg[plen + olen] = '\0';
}
