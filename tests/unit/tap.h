/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A small TAP helper for the unit tests (after bubblewrap's
 * tests/test-utils.c): each case is a void function; CHECK*() record a
 * failure with file:line and go on, so one run shows every broken edge.
 * tap_main() prints TAP ("ok N - name", "not ok N - name"), then the
 * closing line "N passed, N failed, N skipped", and returns 0, 1, or 77
 * when every case skipped.
 */
#ifndef SHIFT_TAP_H
#define SHIFT_TAP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct tap_case {
	const char *name;
	void (*fn)(void);
};

#define TAP_CASE(f)                                                            \
	{                                                                      \
#f, f                                                          \
	}

int tap_main(const struct tap_case *cases, size_t n);

/* Mark the running case as skipped (it stops counting as pass or fail). */
void tap_skip(const char *reason);

void tap_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			tap_fail(__FILE__, __LINE__, "%s", #cond);             \
	} while (0)

/* Integers compared as long long, so -errno and uint32_t ids both print. */
#define CHECK_EQ(a, b)                                                         \
	do {                                                                   \
		long long a_ = (long long)(a), b_ = (long long)(b);            \
		if (a_ != b_)                                                  \
			tap_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", \
				 #a, #b, a_, b_);                              \
	} while (0)

#define CHECK_STR(a, b)                                                        \
	do {                                                                   \
		const char *a_ = (a), *b_ = (b);                               \
		if (!a_ || !b_ || strcmp(a_, b_) != 0)                         \
			tap_fail(__FILE__, __LINE__, "%s: \"%s\" != \"%s\"",   \
				 #a, a_ ? a_ : "(null)", b_ ? b_ : "(null)");  \
	} while (0)

#define CHECK_CONTAINS(hay, needle)                                            \
	do {                                                                   \
		const char *h_ = (hay), *n_ = (needle);                        \
		if (!h_ || !strstr(h_, n_))                                    \
			tap_fail(__FILE__, __LINE__,                           \
				 "%s: \"%s\" does not contain \"%s\"", #hay,   \
				 h_ ? h_ : "(null)", n_);                      \
	} while (0)

/*
 * A temporary file holding text, in a directory removed at exit. Returns
 * its path (static storage per call slot, valid until exit).
 */
const char *tap_tmpfile(const char *name, const char *text);

/* The directory tap_tmpfile() writes into. */
const char *tap_tmpdir(void);

#endif
