/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The unit tests' TAP runner and temp files; see tap.h. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"

static int case_failures;
static const char *case_skip;
static char tmpdir[64];

void tap_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	printf("#   %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	case_failures++;
}

void tap_skip(const char *reason)
{
	case_skip = reason;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void rm_tmpdir(void)
{
	if (tmpdir[0])
		nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *tap_tmpdir(void)
{
	if (!tmpdir[0]) {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/shift-unit-XXXXXX");
		if (!mkdtemp(tmpdir)) {
			perror("mkdtemp");
			exit(1);
		}
		atexit(rm_tmpdir);
	}
	return tmpdir;
}

const char *tap_tmpfile(const char *name, const char *text)
{
	static char paths[64][128];
	static unsigned int next;
	char *path = paths[next++ % 64];
	size_t len = strlen(text);
	int fd;

	snprintf(path, sizeof(paths[0]), "%s/%s", tap_tmpdir(), name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len) {
		perror(path);
		exit(1);
	}
	close(fd);
	return path;
}

int tap_main(const struct tap_case *cases, size_t n)
{
	unsigned int passed = 0, failed = 0, skipped = 0;
	size_t i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("1..%zu\n", n);
	for (i = 0; i < n; i++) {
		case_failures = 0;
		case_skip = NULL;
		cases[i].fn();
		if (case_failures) {
			printf("not ok %zu - %s\n", i + 1, cases[i].name);
			failed++;
		} else if (case_skip) {
			printf("ok %zu - %s # SKIP %s\n", i + 1, cases[i].name,
			       case_skip);
			skipped++;
		} else {
			printf("ok %zu - %s\n", i + 1, cases[i].name);
			passed++;
		}
	}
	printf("%u passed, %u failed, %u skipped\n", passed, failed, skipped);
	if (failed)
		return 1;
	return passed == 0 && skipped > 0 ? 77 : 0;
}
