/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fdpath.c: a resolved path opens only as itself — no symlink followed on
 * the way, a relative path refused — and an fd reads back its path.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdpath.h"
#include "tap.h"

static char top[PATH_MAX];

static void setup(void)
{
	char tmpl[] = "/tmp/test_fdpath.XXXXXX", p[PATH_MAX + 16];

	if (!mkdtemp(tmpl) || !realpath(tmpl, top))
		abort();
	snprintf(p, sizeof(p), "%s/real", top);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/link", top);
	if (symlink("real", p) < 0)
		abort();
}

static void test_opens_the_resolved_path(void)
{
	char p[PATH_MAX + 16], back[PATH_MAX];
	int fd;

	snprintf(p, sizeof(p), "%s/real", top);
	fd = fdpath_open(p, O_DIRECTORY);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK_EQ(fdpath_get(fd, back, sizeof(back)), 0);
	CHECK_STR(back, p);
	CHECK_EQ(fdpath_get(fd, back, 4), -ENAMETOOLONG);
	close(fd);
}

static void test_refuses_symlinks_and_relative_paths(void)
{
	char p[PATH_MAX + 16];

	snprintf(p, sizeof(p), "%s/link", top);
	CHECK_EQ(fdpath_open(p, O_DIRECTORY), -ELOOP);
	snprintf(p, sizeof(p), "%s/link/", top);
	CHECK_EQ(fdpath_open(p, 0), -ELOOP);
	CHECK_EQ(fdpath_open("tmp", 0), -EINVAL);
	snprintf(p, sizeof(p), "%s/missing", top);
	CHECK_EQ(fdpath_open(p, 0), -ENOENT);
}

static void test_a_non_canonical_path_is_stale(void)
{
	char p[PATH_MAX + 16];

	/* "a/./real" opens the same inode, but is not what was resolved */
	snprintf(p, sizeof(p), "%s/./real", top);
	CHECK_EQ(fdpath_open(p, O_DIRECTORY), -ESTALE);
}

int main(void)
{
	static const struct tap_case cases[] = {
		TAP_CASE(test_opens_the_resolved_path),
		TAP_CASE(test_refuses_symlinks_and_relative_paths),
		TAP_CASE(test_a_non_canonical_path_is_stale),
	};
	char cmd[PATH_MAX + 16];
	int r;

	setup();
	r = tap_main(cases, sizeof(cases) / sizeof(cases[0]));
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	if (system(cmd) != 0)
		r = r ? r : 1;
	return r;
}
