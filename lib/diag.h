/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Caller-owned error detail for parsers and builders: the library never
 * prints, it fills a struct shift_diag and returns -errno. Front ends print
 * diag.msg when it is non-empty, else strerror(-r).
 */
#ifndef SHIFT_DIAG_H
#define SHIFT_DIAG_H

struct shift_diag {
	char msg[200];
};

/* Format into d->msg (truncating). d may be NULL. Returns -err, so a caller
 * can write "return shift_diag_set(d, EINVAL, ...)". */
int shift_diag_set(struct shift_diag *d, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prepend "PREFIX: " to an existing message (e.g. a file name). */
void shift_diag_prefix(struct shift_diag *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
