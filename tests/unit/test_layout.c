/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * layout.c: every layout built from temporary subuid/subgid files
 * (rootless, userns-remap, explicit, pid) and owner mode on top, with the
 * messages a user sees when something is missing.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "idmap_parse.h"
#include "layout.h"
#include "tap.h"

static struct idmaps ms;
static struct shift_diag d;

static int build(const struct layout_req *req)
{
	d.msg[0] = '\0';
	return layout_build(req, &ms, &d);
}

static void check_range(const struct idmap *m, uint32_t i, uint32_t disk,
			uint32_t view, uint32_t count)
{
	CHECK(i < m->n);
	if (i >= m->n)
		return;
	CHECK_EQ(m->r[i].disk, disk);
	CHECK_EQ(m->r[i].view, view);
	CHECK_EQ(m->r[i].count, count);
}

/* A uid with no host account, for "numeric user" cases. */
static uint32_t free_uid(void)
{
	uint32_t u;

	for (u = 54321; u < 60000; u++)
		if (!getpwuid(u))
			return u;
	return 0;
}

static void test_kind_names(void)
{
	CHECK_STR(layout_kind_name(LAYOUT_EXPLICIT), "explicit");
	CHECK_STR(layout_kind_name(LAYOUT_ROOTLESS), "rootless");
	CHECK_STR(layout_kind_name(LAYOUT_USERNS_REMAP), "userns-remap");
	CHECK_STR(layout_kind_name(LAYOUT_PID), "pid");
	CHECK_STR(layout_kind_name(LAYOUT_NONE), "none");
}

static void test_none(void)
{
	struct layout_req req = {.kind = LAYOUT_NONE};

	CHECK_EQ(build(&req), -EINVAL);
	CHECK_STR(d.msg, "no id map given");
}

static void test_rootless_root(void)
{
	struct layout_req req = {
		.kind = LAYOUT_ROOTLESS,
		.user = "root",
		.subuid_path = tap_tmpfile("subuid", "# test\n"
						     "bob:1:1\n"
						     "root:100000:65536\n"
						     "\n"
						     "root:300000:10\n"),
		.subgid_path = tap_tmpfile("subgid", "root:200000:65536\n"),
	};
	uint32_t v;

	CHECK_EQ(build(&req), 0);
	CHECK_EQ(ms.uid.n, 3);
	check_range(&ms.uid, 0, 0, 0, 1);
	check_range(&ms.uid, 1, 1, 100000, 65536);
	check_range(&ms.uid, 2, 65537, 300000, 10); /* file order */
	CHECK_EQ(ms.gid.n, 2);
	check_range(&ms.gid, 0, 0, 0, 1);
	check_range(&ms.gid, 1, 1, 200000, 65536);
	CHECK_EQ(idmap_to_view(&ms.uid, 65546, &v), 0);
	CHECK_EQ(v, 300009);
	CHECK_EQ(idmap_to_view(&ms.uid, 65547, &v), -EOVERFLOW);
	CHECK_EQ(idmaps_uid_to_view(&ms, 65547), ms.overflow_uid);
}

static void test_rootless_numeric_user(void)
{
	uint32_t u = free_uid();
	char user[16], subuid[64], subgid[64];

	if (!u) {
		tap_skip("no free uid in 54321..59999");
		return;
	}
	snprintf(user, sizeof(user), "%u", u);
	snprintf(subuid, sizeof(subuid), "%u:100000:65536\n", u);
	snprintf(subgid, sizeof(subgid), "%u:200000:1000\n", u);
	struct layout_req req = {
		.kind = LAYOUT_ROOTLESS,
		.user = user,
		.subuid_path = tap_tmpfile("subuid-num", subuid),
		.subgid_path = tap_tmpfile("subgid-num", subgid),
	};

	CHECK_EQ(build(&req), 0);
	check_range(&ms.uid, 0, 0, u, 1);
	check_range(&ms.uid, 1, 1, 100000, 65536);
	/* no account: the primary group is the number itself */
	check_range(&ms.gid, 0, 0, u, 1);
	check_range(&ms.gid, 1, 1, 200000, 1000);

	/* no entry for the number: the message names the uid and the file */
	req.subuid_path = tap_tmpfile("subuid-other", "root:100000:65536\n");
	CHECK_EQ(build(&req), -ENOENT);
	snprintf(subuid, sizeof(subuid), "no entry for uid %u in %s", u,
		 req.subuid_path);
	CHECK_STR(d.msg, subuid);
}

static void test_rootless_default_user(void)
{
	char line[64];

	snprintf(line, sizeof(line), "%u:100000:65536\n", (unsigned)getuid());
	struct layout_req req = {
		.kind = LAYOUT_ROOTLESS,
		.subuid_path = tap_tmpfile("subuid-self", line),
		.subgid_path = tap_tmpfile("subgid-self", line),
	};

	CHECK_EQ(build(&req), 0);
	check_range(&ms.uid, 0, 0, getuid(), 1);
	check_range(&ms.uid, 1, 1, 100000, 65536);
}

static void test_rootless_errors(void)
{
	char want[200];
	struct layout_req req = {
		.kind = LAYOUT_ROOTLESS,
		.user = "root",
		.subuid_path = tap_tmpfile("subuid-bob", "bob:100000:65536\n"),
		.subgid_path = tap_tmpfile("subgid-root", "root:1:1\n"),
	};

	CHECK_EQ(build(&req), -ENOENT);
	snprintf(want, sizeof(want), "no entry for user root in %s",
		 req.subuid_path);
	CHECK_STR(d.msg, want);

	req.subuid_path = tap_tmpfile("subuid-broken", "root:100000:65536\n"
						       "root:x:1\n");
	CHECK_EQ(build(&req), -EINVAL);
	snprintf(want, sizeof(want), "%s:2: start \"x\": not a number",
		 req.subuid_path);
	CHECK_STR(d.msg, want);

	req.subuid_path = "/nonexistent/subuid";
	CHECK_EQ(build(&req), -ENOENT);
	CHECK_CONTAINS(d.msg, "/nonexistent/subuid");

	req.user = "no-such-user-shiftfs-test";
	req.subuid_path = tap_tmpfile("subuid-bob", "bob:100000:65536\n");
	CHECK_EQ(build(&req), -ENOENT);
	CHECK_STR(d.msg, "no such user: no-such-user-shiftfs-test");

	/* a subordinate range that covers the user's own uid (0) */
	req.user = "root";
	req.subuid_path = tap_tmpfile("subuid-overlap", "root:0:10\n");
	CHECK_EQ(build(&req), -EINVAL);
	CHECK_CONTAINS(d.msg, req.subuid_path);
	CHECK_CONTAINS(d.msg, "view side");
}

static void test_rootless_whole_space(void)
{
	struct layout_req req = {
		.kind = LAYOUT_ROOTLESS,
		.user = "root",
		.subuid_path = tap_tmpfile("subuid-all", "root:1:4294967295\n"),
		.subgid_path = tap_tmpfile("subgid-all", "root:1:4294967295\n"),
	};

	/* 0 -> root, 1..2^32-1 -> 1..: every id, each to itself */
	CHECK_EQ(build(&req), 0);
	CHECK_EQ(idmap_size(&ms.uid), (uint64_t)UINT32_MAX + 1);
	CHECK(idmap_is_identity(&ms.uid));
}

static void test_userns_remap(void)
{
	struct layout_req req = {
		.kind = LAYOUT_USERNS_REMAP,
		.user = "root",
		.subuid_path = tap_tmpfile("subuid-remap", "root:100000:65536\n"
							   "root:500000:5\n"),
		.subgid_path = tap_tmpfile("subgid-remap", "root:200000:65536\n"
							   "wheel:9:1\n"),
	};

	CHECK_EQ(build(&req), 0);
	CHECK_EQ(ms.uid.n, 2);
	check_range(&ms.uid, 0, 0, 100000, 65536);
	check_range(&ms.uid, 1, 65536, 500000, 5);
	CHECK_EQ(ms.gid.n, 1);
	check_range(&ms.gid, 0, 0, 200000, 65536);

	req.user = "root:wheel"; /* GROUP names the subgid owner */
	CHECK_EQ(build(&req), 0);
	CHECK_EQ(ms.gid.n, 1);
	check_range(&ms.gid, 0, 0, 9, 1);

	req.user = "root:nogroup-here";
	CHECK_EQ(build(&req), -ENOENT);
	char want[200];
	snprintf(want, sizeof(want), "no entry for user nogroup-here in %s",
		 req.subgid_path);
	CHECK_STR(d.msg, want);

	req.user = "";
	CHECK_EQ(build(&req), -EINVAL);
	CHECK_STR(d.msg, "userns-remap needs a user name");
	req.user = NULL;
	CHECK_EQ(build(&req), -EINVAL);
}

/* A user given by number: its subgid entry is found under its name, as for
 * the subuid (docker resolves the group name from the user). */
static void test_userns_remap_numeric_user(void)
{
	struct layout_req req = {
		.kind = LAYOUT_USERNS_REMAP,
		.user = "0",
		.subuid_path =
			tap_tmpfile("subuid-rnum", "root:100000:65536\n"),
		.subgid_path = tap_tmpfile("subgid-rnum", "root:200000:65536\n"
							  "0:300000:1\n"),
	};

	CHECK_EQ(build(&req), 0);
	CHECK_STR(d.msg, "");
	CHECK_EQ(ms.uid.n, 1);
	check_range(&ms.uid, 0, 0, 100000, 65536);
	CHECK_EQ(ms.gid.n, 2);
	check_range(&ms.gid, 0, 0, 200000, 65536);
	check_range(&ms.gid, 1, 65536, 300000, 1);
}

static void test_userns_remap_default(void)
{
	struct layout_req req = {
		.kind = LAYOUT_USERNS_REMAP,
		.user = "default",
		.subuid_path =
			tap_tmpfile("subuid-dock", "dockremap:100000:65536\n"),
		.subgid_path =
			tap_tmpfile("subgid-dock", "dockremap:100000:65536\n"),
	};

	if (getpwnam("dockremap")) {
		/* docker's user exists here: "default" must resolve to it */
		CHECK_EQ(build(&req), 0);
		check_range(&ms.uid, 0, 0, 100000, 65536);
		return;
	}
	CHECK_EQ(build(&req), -ENOENT);
	CHECK_STR(d.msg, "no such user: dockremap");
}

static void test_explicit(void)
{
	struct layout_req req = {
		.kind = LAYOUT_EXPLICIT,
		.map_spec = "0:100000:65536",
	};

	CHECK_EQ(build(&req), 0);
	check_range(&ms.uid, 0, 0, 100000, 65536);
	check_range(&ms.gid, 0, 0, 100000, 65536);

	req.gid_spec = "0:200000:10:10:1000:1"; /* overrides map for gids */
	CHECK_EQ(build(&req), 0);
	check_range(&ms.uid, 0, 0, 100000, 65536);
	CHECK_EQ(ms.gid.n, 2);
	check_range(&ms.gid, 1, 10, 1000, 1);

	req = (struct layout_req){.kind = LAYOUT_EXPLICIT, .uid_spec = "0:0:1"};
	CHECK_EQ(build(&req), -EINVAL);
	CHECK_STR(d.msg, "gid map missing: give --map, or both --uid-map and "
			 "--gid-map");
	req = (struct layout_req){.kind = LAYOUT_EXPLICIT, .gid_spec = "0:0:1"};
	CHECK_EQ(build(&req), -EINVAL);
	CHECK_CONTAINS(d.msg, "uid map missing");

	req = (struct layout_req){.kind = LAYOUT_EXPLICIT, .map_spec = "0:0:0"};
	CHECK_EQ(build(&req), -EINVAL);
	CHECK_STR(d.msg, "uid map \"0:0:0\": range 1: range 0:0:0 has count 0");
	req.uid_spec = "0:0:1";
	req.gid_spec = "0:+5:1";
	CHECK_EQ(build(&req), -EINVAL);
	CHECK_STR(d.msg, "gid map \"0:+5:1\": range 1: view id \"+5\": not a "
			 "number");
}

static void test_overflow_override(void)
{
	struct layout_req req = {
		.kind = LAYOUT_EXPLICIT,
		.map_spec = "0:100000:65536",
		.has_overflow_uid = true,
		.overflow_uid = 4242,
	};
	struct idmaps def;

	idmaps_init(&def);
	CHECK_EQ(build(&req), 0);
	CHECK_EQ(ms.overflow_uid, 4242);
	CHECK_EQ(ms.overflow_gid, def.overflow_gid);
	CHECK_EQ(idmaps_uid_to_view(&ms, 70000), 4242);
	req.has_overflow_gid = true;
	req.overflow_gid = 0;
	CHECK_EQ(build(&req), 0);
	CHECK_EQ(idmaps_gid_to_view(&ms, 70000), 0);
}

static void test_pid(void)
{
	struct layout_req req = {.kind = LAYOUT_PID, .pid = getpid()};
	struct idmap m;
	char *text = NULL;
	size_t len;

	CHECK_EQ(build(&req), 0);
	CHECK_EQ(read_small_file("/proc/self/uid_map", &text, &len), 0);
	idmap_init(&m);
	CHECK_EQ(idmap_parse_proc(&m, text, len, "self", &d), 0);
	free(text);
	CHECK_EQ(m.n, ms.uid.n);
	CHECK(memcmp(m.r, ms.uid.r, sizeof(m.r[0]) * m.n) == 0);
	CHECK(ms.gid.n >= 1);
}

static void test_owner_mode(void)
{
	struct layout_req req = {
		.kind = LAYOUT_EXPLICIT,
		.uid_spec = "0:100000:65536",
		.gid_spec = "0:200000:65536",
		.owner_mode = true,
		.owner_uid = 1000,
		.owner_gid = 1001,
		.user_uid = 33,
		.user_gid = 34,
	};
	uint32_t v;

	/* host owner 1000 shows as the view id of container user 33 */
	CHECK_EQ(build(&req), 0);
	CHECK_EQ(ms.uid.n, 1);
	check_range(&ms.uid, 0, 1000, 100033, 1);
	CHECK_EQ(ms.gid.n, 1);
	check_range(&ms.gid, 0, 1001, 200034, 1);
	CHECK_EQ(idmap_to_view(&ms.uid, 0, &v), -EOVERFLOW); /* nothing else */
	CHECK_EQ(idmaps_uid_to_view(&ms, 0), ms.overflow_uid);

	req.user_uid = 65536; /* the container user has no host id */
	CHECK_EQ(build(&req), -EOVERFLOW);
	CHECK_STR(d.msg, "container uid 65536 has no host uid in the explicit "
			 "layout");
	req.user_uid = 0;
	req.user_gid = 4294967295u;
	CHECK_EQ(build(&req), -EOVERFLOW);
	CHECK_STR(d.msg, "container gid 4294967295 has no host gid in the "
			 "explicit layout");
}

static void test_owner_mode_rootless(void)
{
	struct layout_req req = {
		.kind = LAYOUT_ROOTLESS,
		.user = "root",
		.subuid_path = tap_tmpfile("subuid-own", "root:100000:65536\n"),
		.subgid_path = tap_tmpfile("subgid-own", "root:100000:65536\n"),
		.owner_mode = true,
		.owner_uid = 1000,
		.owner_gid = 1000,
		.user_uid = 999,
		.user_gid = 0,
	};

	CHECK_EQ(build(&req), 0);
	check_range(&ms.uid, 0, 1000, 100998, 1);
	check_range(&ms.gid, 0, 1000, 0, 1);

	req.user_uid = 70000;
	CHECK_EQ(build(&req), -EOVERFLOW);
	CHECK_STR(d.msg, "container uid 70000 has no host uid in the rootless "
			 "layout");
}

int main(void)
{
	static const struct tap_case cases[] = {
		TAP_CASE(test_kind_names),
		TAP_CASE(test_none),
		TAP_CASE(test_rootless_root),
		TAP_CASE(test_rootless_numeric_user),
		TAP_CASE(test_rootless_default_user),
		TAP_CASE(test_rootless_errors),
		TAP_CASE(test_rootless_whole_space),
		TAP_CASE(test_userns_remap),
		TAP_CASE(test_userns_remap_numeric_user),
		TAP_CASE(test_userns_remap_default),
		TAP_CASE(test_explicit),
		TAP_CASE(test_overflow_override),
		TAP_CASE(test_pid),
		TAP_CASE(test_owner_mode),
		TAP_CASE(test_owner_mode_rootless),
	};

	return tap_main(cases, sizeof(cases) / sizeof(cases[0]));
}
