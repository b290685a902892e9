/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * passwd.c: container users and groups from given passwd/group files
 * (never the host's), "C:G" pairs, supplementary groups, host accounts.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "passwd.h"
#include "tap.h"

static const char *pw_path, *gr_path;
static struct shift_diag d;

static void files(void)
{
	if (pw_path)
		return;
	pw_path = tap_tmpfile("passwd",
			      "root:x:0:0:root:/root:/bin/bash\n"
			      "www-data:x:33:33:www-data:/var/www:/bin/false\n"
			      "alice:x:1000:1001::/home/alice:/bin/sh\n"
			      "bob:x:1002:1002::/home/bob:/bin/sh\n");
	gr_path = tap_tmpfile("group", "root:x:0:\n"
				       "www-data:x:33:\n"
				       "alice:x:1001:\n"
				       "dev:x:2000:alice,bob\n"
				       "ops:x:2001:bob\n"
				       "ship:x:2002:bob,alice\n"
				       "empty:x:2003:\n");
}

static void test_user_by_name(void)
{
	struct passwd_user u;

	files();
	CHECK_EQ(passwd_user_lookup(pw_path, "alice", &u, &d), 0);
	CHECK_EQ(u.uid, 1000);
	CHECK_EQ(u.gid, 1001);
	CHECK(u.has_gid);
	CHECK_STR(u.name, "alice");
	CHECK_EQ(passwd_user_lookup(pw_path, "root", &u, &d), 0);
	CHECK_EQ(u.uid, 0);
	CHECK_EQ(u.gid, 0);
}

static void test_user_by_number(void)
{
	struct passwd_user u;

	files();
	CHECK_EQ(passwd_user_lookup(pw_path, "33", &u, &d), 0);
	CHECK_EQ(u.uid, 33);
	CHECK_EQ(u.gid, 33);
	CHECK(u.has_gid);
	CHECK_STR(u.name, "www-data");
	/* a number with no entry is itself, without a group */
	CHECK_EQ(passwd_user_lookup(pw_path, "4242", &u, &d), 0);
	CHECK_EQ(u.uid, 4242);
	CHECK(!u.has_gid);
	CHECK_STR(u.name, "");
	CHECK_EQ(passwd_user_lookup(NULL, "0", &u, &d), 0);
	CHECK_EQ(u.uid, 0);
	CHECK(!u.has_gid);
}

static void test_user_missing(void)
{
	struct passwd_user u;
	char want[200];

	files();
	CHECK_EQ(passwd_user_lookup(pw_path, "mallory", &u, &d), -ENOENT);
	snprintf(want, sizeof(want), "user mallory not found in %s", pw_path);
	CHECK_STR(d.msg, want);
	/* not numbers: looked up as names */
	CHECK_EQ(passwd_user_lookup(pw_path, "-1", &u, &d), -ENOENT);
	CHECK_EQ(passwd_user_lookup(pw_path, "+33", &u, &d), -ENOENT);
	CHECK_EQ(passwd_user_lookup(pw_path, " 33", &u, &d), -ENOENT);
	CHECK_EQ(passwd_user_lookup(NULL, "alice", &u, &d), -ENOENT);
	CHECK_STR(d.msg, "user alice: no passwd file to look the name up in");
	CHECK_EQ(passwd_user_lookup(pw_path, "99999999999", &u, &d), -ERANGE);
	CHECK_STR(d.msg, "uid 99999999999 is out of range (0 to 4294967294)");
	CHECK_EQ(passwd_user_lookup(pw_path, "", &u, &d), -EINVAL);
	CHECK_STR(d.msg, "empty user name");
	CHECK_EQ(passwd_user_lookup("/nonexistent/passwd", "alice", &u, &d),
		 -ENOENT);
	CHECK_STR(d.msg, "/nonexistent/passwd: No such file or directory");
}

static void test_group_lookup(void)
{
	uint32_t g = 7;
	char want[200];

	files();
	CHECK_EQ(passwd_group_lookup(gr_path, "dev", &g, &d), 0);
	CHECK_EQ(g, 2000);
	CHECK_EQ(passwd_group_lookup(gr_path, "33", &g, &d), 0);
	CHECK_EQ(g, 33);
	CHECK_EQ(passwd_group_lookup(gr_path, "65534", &g, &d), 0);
	CHECK_EQ(g, 65534);
	CHECK_EQ(passwd_group_lookup(NULL, "12", &g, &d), 0);
	CHECK_EQ(g, 12);
	CHECK_EQ(passwd_group_lookup(gr_path, "wheel", &g, &d), -ENOENT);
	snprintf(want, sizeof(want), "group wheel not found in %s", gr_path);
	CHECK_STR(d.msg, want);
	CHECK_EQ(passwd_group_lookup(NULL, "dev", &g, &d), -ENOENT);
	CHECK_STR(d.msg, "group dev: no group file given");
	CHECK_EQ(passwd_group_lookup(gr_path, "", &g, &d), -EINVAL);
	CHECK_STR(d.msg, "empty group name");
}

static void test_supplementary_groups(void)
{
	uint32_t gids[8];

	files();
	CHECK_EQ(passwd_user_groups(gr_path, "alice", gids, 8, &d), 2);
	CHECK_EQ(gids[0], 2000); /* file order */
	CHECK_EQ(gids[1], 2002);
	CHECK_EQ(passwd_user_groups(gr_path, "bob", gids, 8, &d), 3);
	CHECK_EQ(gids[0], 2000);
	CHECK_EQ(gids[1], 2001);
	CHECK_EQ(gids[2], 2002);
	CHECK_EQ(passwd_user_groups(gr_path, "bob", gids, 2, &d), 2);
	CHECK_EQ(passwd_user_groups(gr_path, "root", gids, 8, &d), 0);
	CHECK_EQ(passwd_user_groups(gr_path, "ali", gids, 8, &d), 0);
	CHECK_EQ(passwd_user_groups(NULL, "alice", gids, 8, &d), 0);
	CHECK_EQ(passwd_user_groups("/nonexistent/group", "alice", gids, 8, &d),
		 -ENOENT);
}

static void test_resolve_pair(void)
{
	uint32_t u = 7, g = 7;

	files();
	CHECK_EQ(passwd_resolve_pair(pw_path, gr_path, "alice", &u, &g, &d), 0);
	CHECK_EQ(u, 1000);
	CHECK_EQ(g, 1001); /* primary group */
	CHECK_EQ(passwd_resolve_pair(pw_path, gr_path, "alice:dev", &u, &g, &d),
		 0);
	CHECK_EQ(u, 1000);
	CHECK_EQ(g, 2000);
	CHECK_EQ(passwd_resolve_pair(pw_path, gr_path, "www-data:alice", &u, &g,
				     &d),
		 0);
	CHECK_EQ(u, 33);
	CHECK_EQ(g, 1001);
	CHECK_EQ(passwd_resolve_pair(pw_path, gr_path, "4242", &u, &g, &d), 0);
	CHECK_EQ(u, 4242);
	CHECK_EQ(g, 4242); /* no entry: the number itself */
	CHECK_EQ(passwd_resolve_pair(pw_path, gr_path, "4242:33", &u, &g, &d),
		 0);
	CHECK_EQ(g, 33);
	CHECK_EQ(passwd_resolve_pair(NULL, NULL, "1:2", &u, &g, &d), 0);
	CHECK_EQ(u, 1);
	CHECK_EQ(g, 2);
	CHECK_EQ(passwd_resolve_pair(pw_path, gr_path, "alice:wheel", &u, &g,
				     &d),
		 -ENOENT);
	CHECK_CONTAINS(d.msg, "group wheel not found");
	CHECK_EQ(passwd_resolve_pair(pw_path, gr_path, "mallory:dev", &u, &g,
				     &d),
		 -ENOENT);
	CHECK_CONTAINS(d.msg, "user mallory not found");
	CHECK_EQ(passwd_resolve_pair(pw_path, gr_path, "alice:", &u, &g, &d),
		 -EINVAL);
	CHECK_EQ(passwd_resolve_pair(pw_path, gr_path, ":dev", &u, &g, &d),
		 -EINVAL);
}

static void test_host_user(void)
{
	struct passwd_user u;
	uint32_t n;

	CHECK_EQ(passwd_host_user("root", &u, &d), 0);
	CHECK_EQ(u.uid, 0);
	CHECK_EQ(u.gid, 0);
	CHECK(u.has_gid);
	CHECK_STR(u.name, "root");
	CHECK_EQ(passwd_host_user("0", &u, &d), 0);
	CHECK_STR(u.name, "root");
	for (n = 54321; n < 60000 && getpwuid(n); n++)
		;
	char num[16];
	snprintf(num, sizeof(num), "%u", n);
	CHECK_EQ(passwd_host_user(num, &u, &d), 0);
	CHECK_EQ(u.uid, n);
	CHECK_EQ(u.gid, n);
	CHECK(!u.has_gid);
	CHECK_STR(u.name, "");
	CHECK_EQ(passwd_host_user("no-such-user-shiftfs", &u, &d), -ENOENT);
	CHECK_STR(d.msg, "no such user: no-such-user-shiftfs");
	CHECK_EQ(passwd_host_user("", &u, &d), -EINVAL);
}

/* Files resolved inside a root: an absolute symlink stays in it; FIFOs and
 * devices are refused without blocking; the db form of the lookups. */
static void test_open_in_root(void)
{
	char root[4096], p[4200];
	struct passwd_db db;
	struct passwd_user u;
	int rootfd, fd;

	files();
	snprintf(root, sizeof(root), "%s/img", tap_tmpdir());
	snprintf(p, sizeof(p), "%s/etc", root);
	CHECK_EQ(mkdir(root, 0755), 0);
	CHECK_EQ(mkdir(p, 0755), 0);
	/* etc/passwd -> pw_path (absolute, outside the root) */
	snprintf(p, sizeof(p), "%s/etc/passwd", root);
	CHECK_EQ(symlink(pw_path, p), 0);
	rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	CHECK(rootfd >= 0);
	CHECK_EQ(passwd_open_file(rootfd, "etc/passwd", &d), -ENOENT);
	CHECK_EQ(passwd_db_load(&db, rootfd, "etc/passwd", "IMG/etc/passwd"),
		 -ENOENT);
	CHECK_EQ(passwd_db_user_lookup(&db, "alice", &u, &d), -ENOENT);
	CHECK(strstr(d.msg, "IMG/etc/passwd") != NULL);
	passwd_db_free(&db);
	/* as named (no root): the symlink is followed */
	fd = passwd_open_file(-1, p, &d);
	CHECK(fd >= 0);
	CHECK_EQ(passwd_db_read_fd(&db, fd, p), 0);
	close(fd);
	CHECK_EQ(passwd_db_user_lookup(&db, "alice", &u, &d), 0);
	CHECK_EQ(u.uid, 1000);
	passwd_db_free(&db);
	/* a FIFO: refused at once */
	snprintf(p, sizeof(p), "%s/etc/group", root);
	CHECK_EQ(mkfifo(p, 0644), 0);
	CHECK_EQ(passwd_open_file(rootfd, "etc/group", &d), -EINVAL);
	CHECK_STR(d.msg, "etc/group: not a regular file");
	CHECK_EQ(passwd_open_file(-1, "/dev/null", &d), -EINVAL);
	/* an empty file: no entries, numbers still resolve */
	CHECK_EQ(passwd_db_load(&db, -1, tap_tmpfile("empty", ""), "empty"),
		 0);
	CHECK_EQ(passwd_db_user_lookup(&db, "alice", &u, &d), -ENOENT);
	CHECK_EQ(passwd_db_user_lookup(&db, "7", &u, &d), 0);
	CHECK_EQ(u.uid, 7);
	passwd_db_free(&db);
	close(rootfd);
}

int main(void)
{
	static const struct tap_case cases[] = {
		TAP_CASE(test_user_by_name),
		TAP_CASE(test_user_by_number),
		TAP_CASE(test_user_missing),
		TAP_CASE(test_group_lookup),
		TAP_CASE(test_supplementary_groups),
		TAP_CASE(test_resolve_pair),
		TAP_CASE(test_host_user),
		TAP_CASE(test_open_in_root),
	};

	return tap_main(cases, sizeof(cases) / sizeof(cases[0]));
}
