/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * idmap_parse.c: explicit specs in both forms, /proc/PID/uid_map text,
 * every refusal with its message, and format -> parse round trips.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "idmap_parse.h"
#include "tap.h"

static struct idmap m, back;
static struct shift_diag d;

static int spec(const char *s)
{
	idmap_init(&m);
	d.msg[0] = '\0';
	return idmap_parse_spec(&m, s, &d);
}

static int proc(const char *s)
{
	idmap_init(&m);
	d.msg[0] = '\0';
	return idmap_parse_proc(&m, s, strlen(s), "uid_map", &d);
}

static int same(const struct idmap *a, const struct idmap *b)
{
	return a->n == b->n && memcmp(a->r, b->r, sizeof(a->r[0]) * a->n) == 0;
}

static void check_range(uint32_t i, uint32_t disk, uint32_t view,
			uint32_t count)
{
	CHECK(i < m.n);
	if (i >= m.n)
		return;
	CHECK_EQ(m.r[i].disk, disk);
	CHECK_EQ(m.r[i].view, view);
	CHECK_EQ(m.r[i].count, count);
}

static void test_spec_forms(void)
{
	CHECK_EQ(spec("0:100000:65536"), 0);
	CHECK_EQ(m.n, 1);
	check_range(0, 0, 100000, 65536);

	CHECK_EQ(spec("0:100000:65536,65536:1000:1"), 0);
	CHECK_EQ(m.n, 2);
	check_range(0, 0, 100000, 65536);
	check_range(1, 65536, 1000, 1);

	/* fuse-overlayfs's colon form: the same map */
	CHECK_EQ(spec("0:100000:65536:65536:1000:1"), 0);
	CHECK_EQ(m.n, 2);
	check_range(1, 65536, 1000, 1);

	/* both separators in one spec */
	CHECK_EQ(spec("0:1:1,1:2:1:2:3:1"), 0);
	CHECK_EQ(m.n, 3);
	check_range(2, 2, 3, 1);
}

static void test_spec_edges(void)
{
	uint32_t v;

	CHECK_EQ(spec("0:0:4294967295"), 0);
	CHECK_EQ(spec("4294967295:0:1"), 0); /* reaches exactly 2^32 */
	check_range(0, 4294967295u, 0, 1);
	CHECK_EQ(spec("1:1:4294967295"), 0);
	CHECK_EQ(idmap_to_view(&m, 4294967295u, &v), 0);
	CHECK_EQ(v, 4294967295u);
	CHECK_EQ(spec("65534:4294967294:1"), 0);
	CHECK_EQ(spec("0:65534:1,65534:0:1"), 0);

	CHECK_EQ(spec("4294967295:0:2"), -ERANGE); /* one past */
	CHECK_STR(d.msg, "range 1: range 4294967295:0:2 runs past id "
			 "4294967295");
	CHECK_EQ(spec("2:1:4294967295"), -ERANGE);
	CHECK_EQ(spec("0:4294967295:2"), -ERANGE);
	CHECK_EQ(spec("4294967296:0:1"), -ERANGE);
	CHECK_STR(d.msg, "range 1: disk id \"4294967296\": number out of "
			 "range");
	CHECK_EQ(spec("0:0:4294967296"), -ERANGE);
	CHECK_CONTAINS(d.msg, "count \"4294967296\"");
}

static void test_spec_count_zero(void)
{
	CHECK_EQ(spec("0:0:0"), -EINVAL);
	CHECK_STR(d.msg, "range 1: range 0:0:0 has count 0");
	CHECK_EQ(spec("0:0:1,5:5:0"), -EINVAL);
	CHECK_CONTAINS(d.msg, "range 2");
}

static void test_spec_bad_numbers(void)
{
	CHECK_EQ(spec("+5:0:1"), -EINVAL);
	CHECK_STR(d.msg, "range 1: disk id \"+5\": not a number");
	CHECK_EQ(spec("0:-1:1"), -EINVAL);
	CHECK_STR(d.msg, "range 1: view id \"-1\": not a number");
	CHECK_EQ(spec(" 0:0:1"), -EINVAL);
	CHECK_STR(d.msg, "range 1: disk id \" 0\": not a number");
	CHECK_EQ(spec("0:0:1x"), -EINVAL);
	CHECK_STR(d.msg, "range 1: count \"1x\": trailing characters after "
			 "the number");
	CHECK_EQ(spec("0:0:1 "), -EINVAL);
	CHECK_CONTAINS(d.msg, "count \"1 \"");
	CHECK_EQ(spec("0:0:1,1:1:1,2:2:0x10"), -EINVAL);
	CHECK_CONTAINS(d.msg, "range 3: count \"0x10\"");
	CHECK_EQ(spec("0::1"), -EINVAL);
	CHECK_STR(d.msg, "range 1: view id \"\": not a number");
}

static void test_spec_shape(void)
{
	CHECK_EQ(spec(""), -EINVAL);
	CHECK_STR(d.msg, "empty id map");
	CHECK_EQ(spec("0"), -EINVAL);
	CHECK_STR(d.msg, "range 1: expected DISK:VIEW:COUNT, got 1 field");
	CHECK_EQ(spec("0:0"), -EINVAL);
	CHECK_STR(d.msg, "range 1: expected DISK:VIEW:COUNT, got 2 fields");
	CHECK_EQ(spec("0:0:1,"), -EINVAL);
	CHECK_STR(d.msg, "range 2: expected DISK:VIEW:COUNT, got 1 field");
	CHECK_EQ(spec("0:0:1:"), -EINVAL);
	CHECK_EQ(spec("0:0:1:1:1"), -EINVAL);
	CHECK_STR(d.msg, "range 2: expected DISK:VIEW:COUNT, got 2 fields");
	CHECK_EQ(spec("0,0:1"), -EINVAL);
	CHECK_STR(d.msg, "range 1: expected DISK:VIEW:COUNT before ','");
	CHECK_EQ(spec("0:0:1,,1:1:1"), -EINVAL);
	CHECK_EQ(spec(",0:0:1"), -EINVAL);
	CHECK_EQ(spec("0 0 1"), -EINVAL);
}

static void test_spec_overlap(void)
{
	CHECK_EQ(spec("0:100:10,5:200:10"), -EINVAL);
	CHECK_STR(d.msg, "range 2: range 5:200:10 overlaps range 0:100:10 "
			 "on the disk side");
	CHECK_EQ(spec("0:100:10,50:105:10"), -EINVAL);
	CHECK_STR(d.msg, "range 2: range 50:105:10 overlaps range 0:100:10 "
			 "on the view side");
	/* touching on both sides is allowed */
	CHECK_EQ(spec("0:100:10,10:110:10"), 0);
	CHECK_EQ(spec("10:110:10,0:100:10"), 0);
	CHECK_EQ(m.n, 2);
}

static void test_spec_max_ranges(void)
{
	static char buf[IDMAP_MAX_RANGES * 24 + 64];
	size_t used = 0;
	uint32_t i, v;

	/* 340 ranges in descending disk order, then one more */
	for (i = 0; i < IDMAP_MAX_RANGES; i++)
		used += (size_t)snprintf(buf + used, sizeof(buf) - used,
					 "%s%u:%u:1", i ? "," : "",
					 10 * (IDMAP_MAX_RANGES - i), 7 * i);
	CHECK_EQ(spec(buf), 0);
	CHECK_EQ(m.n, 340);
	CHECK_EQ(idmap_to_view(&m, 10, &v), 0);
	CHECK_EQ(v, 7 * 339);
	CHECK_EQ(idmap_to_disk(&m, 0, &v), 0);
	CHECK_EQ(v, 3400);
	snprintf(buf + used, sizeof(buf) - used, ",0:100000:1");
	CHECK_EQ(spec(buf), -E2BIG);
	CHECK_STR(d.msg, "range 341: more than 340 ranges");
}

static void test_proc_formats(void)
{
	/* what the kernel prints: right-aligned in 10-wide columns */
	CHECK_EQ(proc("         0       1000          1\n"
		      "         1     100000      65536\n"),
		 0);
	CHECK_EQ(m.n, 2);
	check_range(0, 0, 1000, 1);
	check_range(1, 1, 100000, 65536);

	CHECK_EQ(proc("0\t1000 \t 1\n\t1  100000\t\t65536   \n"), 0);
	CHECK_EQ(m.n, 2);
	check_range(1, 1, 100000, 65536);

	CHECK_EQ(proc("\n\n0 0 4294967295\n   \n\t\n"), 0);
	CHECK_EQ(m.n, 1);
	check_range(0, 0, 0, 4294967295u);

	CHECK_EQ(proc("0 1000 1"), 0); /* no final newline */
	CHECK_EQ(m.n, 1);
	CHECK_EQ(proc(""), 0);
	CHECK_EQ(m.n, 0);

	/* Only len bytes are read. */
	idmap_init(&m);
	CHECK_EQ(idmap_parse_proc(&m, "0 5 1\n1 6 1\n", 6, "f", &d), 0);
	CHECK_EQ(m.n, 1);
}

static void test_proc_errors(void)
{
	CHECK_EQ(proc("0 0 1 7\n"), -EINVAL);
	CHECK_STR(d.msg, "uid_map:1: unexpected \"7\" after three fields");
	CHECK_EQ(proc("0 0 1\n1 1\n"), -EINVAL);
	CHECK_STR(d.msg, "uid_map:2: expected \"INSIDE OUTSIDE COUNT\"");
	CHECK_EQ(proc("\n\n0 x 1\n"), -EINVAL);
	CHECK_STR(d.msg, "uid_map:3: view id \"x\": not a number");
	CHECK_EQ(proc("0 0 1\n0 5 1\n"), -EINVAL);
	CHECK_STR(d.msg, "uid_map:2: range 0:5:1 overlaps range 0:0:1 on "
			 "the disk side");
	CHECK_EQ(proc("4294967295 0 2\n"), -ERANGE);
	CHECK_CONTAINS(d.msg, "uid_map:1: ");
	CHECK_EQ(proc("0 0 0\n"), -EINVAL);
	CHECK_EQ(proc("-1 0 1\n"), -EINVAL);
	CHECK_EQ(proc("0,0,1\n"), -EINVAL);
}

static void round_trip(const char *s)
{
	char buf[8192];
	size_t need;

	CHECK_EQ(spec(s), 0);

	need = idmap_format_spec(&m, buf, sizeof(buf));
	CHECK(need < sizeof(buf));
	idmap_init(&back);
	CHECK_EQ(idmap_parse_spec(&back, buf, &d), 0);
	CHECK(same(&m, &back));

	need = idmap_format_opt(&m, buf, sizeof(buf));
	idmap_init(&back);
	CHECK_EQ(idmap_parse_spec(&back, buf, &d), 0);
	CHECK(same(&m, &back));

	need = idmap_format(&m, buf, sizeof(buf));
	idmap_init(&back);
	CHECK_EQ(idmap_parse_proc(&back, buf, need, "fmt", &d), 0);
	CHECK(same(&m, &back));
}

static void test_round_trip(void)
{
	round_trip("0:100000:65536,65536:1000:1");
	round_trip("4294967295:0:1,0:1:4294967295");
	round_trip("500:0:10,0:500:10,100:300:50");
	round_trip("0:0:4294967295");
}

static void test_round_trip_truncated(void)
{
	char buf[16];
	size_t need;

	CHECK_EQ(spec("0:100000:65536,65536:1000:1"), 0);
	need = idmap_format_spec(&m, buf, sizeof(buf));
	CHECK_EQ(need, strlen("0:100000:65536,65536:1000:1"));
	CHECK(need >= sizeof(buf)); /* caller can tell it was cut */
	CHECK_STR(buf, "0:100000:65536,");
	/* a truncated spec is refused, never half-applied silently */
	idmap_init(&back);
	CHECK_EQ(idmap_parse_spec(&back, buf, &d), -EINVAL);
}

static pid_t unused_pid(void)
{
	pid_t p;

	for (p = 4000000; p > 1000; p -= 7919)
		if (kill(p, 0) < 0 && errno == ESRCH)
			return p;
	return -1;
}

static void test_read_pid(void)
{
	struct idmaps ms;
	char *text = NULL;
	size_t len;
	pid_t gone;

	idmaps_init(&ms);
	CHECK_EQ(idmap_read_pid(&ms, getpid(), &d), 0);
	CHECK(ms.uid.n >= 1);
	CHECK(ms.gid.n >= 1);
	CHECK_EQ(read_small_file("/proc/self/uid_map", &text, &len), 0);
	if (text) {
		CHECK_EQ(proc(text), 0);
		CHECK(same(&m, &ms.uid));
		free(text);
	}

	gone = unused_pid();
	if (gone < 0) {
		tap_skip("no unused pid found");
		return;
	}
	idmaps_init(&ms);
	CHECK_EQ(idmap_read_pid(&ms, gone, &d), -ENOENT);
	char want[64];
	snprintf(want, sizeof(want), "/proc/%d/uid_map: no such process",
		 (int)gone);
	CHECK_STR(d.msg, want);
}

static void test_read_small_file(void)
{
	char *text = NULL;
	size_t len = 99;

	CHECK_EQ(read_small_file(tap_tmpfile("empty", ""), &text, &len), 0);
	CHECK_EQ(len, 0);
	CHECK_STR(text, "");
	free(text);
	text = NULL;
	CHECK_EQ(read_small_file(tap_tmpfile("two", "0 0 1\n1 1 1\n"), &text,
				 &len),
		 0);
	CHECK_EQ(len, 12);
	CHECK_STR(text, "0 0 1\n1 1 1\n");
	free(text);
	CHECK_EQ(read_small_file("/nonexistent/uid_map", &text, &len), -ENOENT);
}

int main(void)
{
	static const struct tap_case cases[] = {
		TAP_CASE(test_spec_forms),
		TAP_CASE(test_spec_edges),
		TAP_CASE(test_spec_count_zero),
		TAP_CASE(test_spec_bad_numbers),
		TAP_CASE(test_spec_shape),
		TAP_CASE(test_spec_overlap),
		TAP_CASE(test_spec_max_ranges),
		TAP_CASE(test_proc_formats),
		TAP_CASE(test_proc_errors),
		TAP_CASE(test_round_trip),
		TAP_CASE(test_round_trip_truncated),
		TAP_CASE(test_read_pid),
		TAP_CASE(test_read_small_file),
	};

	return tap_main(cases, sizeof(cases) / sizeof(cases[0]));
}
