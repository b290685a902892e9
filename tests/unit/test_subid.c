/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * subid.c: /etc/subuid-style text and files: comments, blank lines,
 * several lines per user kept in file order, owners named by number,
 * "no entry" and malformed lines with file:line in the message.
 */
#include <errno.h>
#include <stdio.h>

#include "subid.h"
#include "tap.h"

static struct subid_ranges out;
static struct shift_diag d;

static int parse(const char *text, const char *name, bool has_id, uint32_t id)
{
	d.msg[0] = '\0';
	return subid_parse(text, strlen(text), "/etc/subuid", name, has_id, id,
			   &out, &d);
}

static void check_range(uint32_t i, uint32_t start, uint32_t count)
{
	CHECK(i < out.n);
	if (i >= out.n)
		return;
	CHECK_EQ(out.r[i].start, start);
	CHECK_EQ(out.r[i].count, count);
}

static void test_one_line(void)
{
	CHECK_EQ(parse("alice:100000:65536\n", "alice", false, 0), 0);
	CHECK_EQ(out.n, 1);
	check_range(0, 100000, 65536);
	/* no final newline */
	CHECK_EQ(parse("alice:100000:65536", "alice", false, 0), 0);
	CHECK_EQ(out.n, 1);
}

static void test_several_lines_file_order(void)
{
	const char *t = "alice:300000:10\n"
			"bob:100000:65536\n"
			"alice:100000:65536\n"
			"carol:1:1\n"
			"alice:200000:5\n";

	CHECK_EQ(parse(t, "alice", false, 0), 0);
	CHECK_EQ(out.n, 3);
	check_range(0, 300000, 10); /* file order, not sorted */
	check_range(1, 100000, 65536);
	check_range(2, 200000, 5);
	CHECK_EQ(parse(t, "bob", false, 0), 0);
	CHECK_EQ(out.n, 1);
	check_range(0, 100000, 65536);
}

static void test_comments_blank(void)
{
	const char *t = "# /etc/subuid\n"
			"\n"
			"   \n"
			"\t\n"
			"  # indented comment\n"
			"alice:100000:65536\n"
			"#alice:1:1\n"
			"\n";

	CHECK_EQ(parse(t, "alice", false, 0), 0);
	CHECK_EQ(out.n, 1);
	check_range(0, 100000, 65536);
}

static void test_numeric_owner(void)
{
	const char *t = "1000:100000:65536\n"
			"alice:200000:65536\n"
			"01000:300000:1\n";

	/* named user whose uid is 1000: both lines with its number count */
	CHECK_EQ(parse(t, "alice", true, 1000), 0);
	CHECK_EQ(out.n, 3);
	check_range(0, 100000, 65536);
	check_range(1, 200000, 65536);
	check_range(2, 300000, 1);
	/* by uid only */
	CHECK_EQ(parse(t, NULL, true, 1000), 0);
	CHECK_EQ(out.n, 2);
	/* the name alone does not match numeric lines */
	CHECK_EQ(parse(t, "alice", false, 1000), 0);
	CHECK_EQ(out.n, 1);
	check_range(0, 200000, 65536);
	/* a user named like a number is matched by name too */
	CHECK_EQ(parse("4294967295:1:1\n", "4294967295", false, 0), 0);
	CHECK_EQ(out.n, 1);
}

static void test_no_entry(void)
{
	CHECK_EQ(parse("bob:100000:65536\n", "alice", false, 0), -ENOENT);
	CHECK_STR(d.msg, "no entry for user alice in /etc/subuid");
	CHECK_EQ(out.n, 0);
	CHECK_EQ(parse("bob:100000:65536\n", "alice", true, 1000), -ENOENT);
	CHECK_STR(d.msg, "no entry for user alice in /etc/subuid");
	CHECK_EQ(parse("bob:100000:65536\n", NULL, true, 1000), -ENOENT);
	CHECK_STR(d.msg, "no entry for uid 1000 in /etc/subuid");
	/* prefix of a name is not the name */
	CHECK_EQ(parse("alice2:1:1\nalic:1:1\n", "alice", false, 0), -ENOENT);
}

static void test_empty(void)
{
	CHECK_EQ(parse("", "alice", false, 0), -ENOENT);
	CHECK_STR(d.msg, "no entry for user alice in /etc/subuid");
	CHECK_EQ(parse("\n\n# only comments\n", "alice", false, 0), -ENOENT);
	CHECK_STR(d.msg, "no entry for user alice in /etc/subuid");
}

static void test_malformed(void)
{
	CHECK_EQ(parse("alice:1:1\n\nalice:100000\n", "alice", false, 0),
		 -EINVAL);
	CHECK_STR(d.msg, "/etc/subuid:3: expected OWNER:START:COUNT, got "
			 "\"alice:100000\"");
	CHECK_EQ(parse(":1:1\n", "alice", false, 0), -EINVAL);
	CHECK_CONTAINS(d.msg, "/etc/subuid:1: ");
	CHECK_EQ(parse("alice:x:1\n", "alice", false, 0), -EINVAL);
	CHECK_STR(d.msg, "/etc/subuid:1: start \"x\": not a number");
	CHECK_EQ(parse("alice:+5:1\n", "alice", false, 0), -EINVAL);
	CHECK_STR(d.msg, "/etc/subuid:1: start \"+5\": not a number");
	CHECK_EQ(parse("alice:-1:1\n", "alice", false, 0), -EINVAL);
	CHECK_EQ(parse("alice:1:1x\n", "alice", false, 0), -EINVAL);
	CHECK_STR(d.msg, "/etc/subuid:1: count \"1x\": trailing characters "
			 "after the number");
	CHECK_EQ(parse("alice:1:1:1\n", "alice", false, 0), -EINVAL);
	CHECK_CONTAINS(d.msg, "/etc/subuid:1: count \"1:1\"");
	/* a malformed line of another user is still an error: the file is
	 * broken and the admin should hear about it */
	CHECK_EQ(parse("alice:1:1\nbob:1\n", "alice", false, 0), -EINVAL);
	CHECK_CONTAINS(d.msg, "/etc/subuid:2: ");
}

static void test_range_limits(void)
{
	CHECK_EQ(parse("alice:4294967295:1\n", "alice", false, 0), 0);
	check_range(0, 4294967295u, 1);
	CHECK_EQ(parse("alice:1:4294967295\n", "alice", false, 0), 0);
	CHECK_EQ(parse("alice:0:4294967295\n", "alice", false, 0), 0);
	CHECK_EQ(parse("alice:4294967295:2\n", "alice", false, 0), -ERANGE);
	CHECK_STR(d.msg, "/etc/subuid:1: count \"2\": zero, or past id "
			 "4294967295");
	CHECK_EQ(parse("alice:2:4294967295\n", "alice", false, 0), -ERANGE);
	CHECK_EQ(parse("alice:100000:0\n", "alice", false, 0), -ERANGE);
	CHECK_CONTAINS(d.msg, "count \"0\"");
	CHECK_EQ(parse("alice:4294967296:1\n", "alice", false, 0), -ERANGE);
	CHECK_CONTAINS(d.msg, "start \"4294967296\"");
}

static void test_max_ranges(void)
{
	static char buf[400 * 32];
	size_t used = 0;
	uint32_t i;

	for (i = 0; i < IDMAP_MAX_RANGES; i++)
		used += (size_t)snprintf(buf + used, sizeof(buf) - used,
					 "alice:%u:1\nbob:%u:1\n", 1000 + i,
					 5000 + i);
	CHECK_EQ(parse(buf, "alice", false, 0), 0);
	CHECK_EQ(out.n, 340);
	snprintf(buf + used, sizeof(buf) - used, "alice:9999:1\n");
	CHECK_EQ(parse(buf, "alice", false, 0), -E2BIG);
	CHECK_STR(d.msg, "/etc/subuid:681: more than 340 ranges");
}

static void test_read_file(void)
{
	const char *path = tap_tmpfile("subuid", "# test\n"
						 "alice:100000:65536\n"
						 "alice:1000000:1\n");
	char want[200];

	d.msg[0] = '\0';
	CHECK_EQ(subid_read(path, "alice", false, 0, &out, &d), 0);
	CHECK_EQ(out.n, 2);
	check_range(1, 1000000, 1);

	CHECK_EQ(subid_read(path, "bob", false, 0, &out, &d), -ENOENT);
	snprintf(want, sizeof(want), "no entry for user bob in %s", path);
	CHECK_STR(d.msg, want);

	path = tap_tmpfile("subuid-bad", "alice:100000:65536\nbroken\n");
	CHECK_EQ(subid_read(path, "alice", false, 0, &out, &d), -EINVAL);
	snprintf(want, sizeof(want), "%s:2: ", path);
	CHECK_CONTAINS(d.msg, want);

	path = tap_tmpfile("subuid-empty", "");
	CHECK_EQ(subid_read(path, "alice", false, 0, &out, &d), -ENOENT);

	CHECK_EQ(subid_read("/nonexistent/subuid", "alice", false, 0, &out, &d),
		 -ENOENT);
	CHECK_STR(d.msg, "/nonexistent/subuid: No such file or directory");
}

/* The caller's set A for the helper: own id first, ranges by name or uid,
 * no file or no entry is just own, a broken file is an error. */
static void test_own_set(void)
{
	const char *path = tap_tmpfile("subuid-own", "alice:100000:65536\n"
						     "1000:300000:10\n"
						     "bob:200000:65536\n");
	uint32_t miss = 0;

	CHECK_EQ(subid_own(path, "alice", 1000, 1000, &out, &d), 0);
	CHECK_EQ(out.n, 3);
	check_range(0, 1000, 1);
	check_range(1, 100000, 65536);
	check_range(2, 300000, 10);
	CHECK(subid_ranges_cover(&out, 100000, 65536, NULL));
	CHECK(!subid_ranges_cover(&out, 100000, 65537, &miss));
	CHECK_EQ(miss, 165536);
	CHECK(!subid_ranges_cover(&out, 99999, 2, &miss));
	CHECK_EQ(miss, 99999);
	CHECK(!subid_ranges_cover(&out, 0, 1, &miss));
	CHECK_EQ(miss, 0);
	CHECK(subid_ranges_cover(&out, 1000, 1, NULL));
	CHECK(!subid_ranges_cover(&out, 1000, 2, &miss));
	CHECK_EQ(miss, 1001);
	CHECK(!subid_ranges_cover(&out, 200000, 1, NULL));

	CHECK_EQ(subid_own(path, "carol", 1002, 1002, &out, &d), 0);
	CHECK_EQ(out.n, 1);
	check_range(0, 1002, 1);
	CHECK_EQ(subid_own("/nonexistent/subuid", "alice", 1000, 7, &out, &d),
		 0);
	CHECK_EQ(out.n, 1);
	check_range(0, 7, 1);

	path = tap_tmpfile("subuid-own-bad", "alice:100000:65536\nbroken\n");
	CHECK_EQ(subid_own(path, "alice", 1000, 1000, &out, &d), -EINVAL);
}

/* Adjacent ranges cover together; a range reaching 2^32 is covered. */
static void test_cover_edges(void)
{
	struct subid_ranges set = {3, {{10, 5}, {15, 5}, {4294967290u, 6}}};
	uint32_t miss = 0;

	CHECK(subid_ranges_cover(&set, 10, 10, NULL));
	CHECK(subid_ranges_cover(&set, 12, 6, NULL));
	CHECK(!subid_ranges_cover(&set, 12, 9, &miss));
	CHECK_EQ(miss, 20);
	CHECK(subid_ranges_cover(&set, 4294967290u, 6, NULL));
	CHECK(subid_ranges_cover(&set, 4294967295u, 1, NULL));
	CHECK(!subid_ranges_cover(&set, 4294967289u, 2, &miss));
	CHECK_EQ(miss, 4294967289u);
}

int main(void)
{
	static const struct tap_case cases[] = {
		TAP_CASE(test_one_line),
		TAP_CASE(test_several_lines_file_order),
		TAP_CASE(test_comments_blank),
		TAP_CASE(test_numeric_owner),
		TAP_CASE(test_no_entry),
		TAP_CASE(test_empty),
		TAP_CASE(test_malformed),
		TAP_CASE(test_range_limits),
		TAP_CASE(test_max_ranges),
		TAP_CASE(test_read_file),
		TAP_CASE(test_own_set),
		TAP_CASE(test_cover_edges),
	};

	return tap_main(cases, sizeof(cases) / sizeof(cases[0]));
}
