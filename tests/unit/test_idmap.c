/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * idmap.c: range validation in idmap_add(), lookups both ways at range
 * edges, identity, invert, size and the three text forms.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "idmap.h"
#include "tap.h"

#define ID_SPACE ((uint64_t)UINT32_MAX + 1)

static struct idmap m;
static struct shift_diag d;

static int add(uint32_t disk, uint32_t view, uint32_t count)
{
	d.msg[0] = '\0';
	return idmap_add(&m, disk, view, count, &d);
}

static void test_count_zero(void)
{
	idmap_init(&m);
	CHECK_EQ(add(0, 0, 0), -EINVAL);
	CHECK_STR(d.msg, "range 0:0:0 has count 0");
	CHECK_EQ(m.n, 0);
	/* d may be NULL */
	CHECK_EQ(idmap_add(&m, 5, 5, 0, NULL), -EINVAL);
}

static void test_end_of_id_space(void)
{
	uint32_t out;

	idmap_init(&m);
	CHECK_EQ(add(4294967295u, 0, 1), 0); /* ends exactly at 2^32 */
	CHECK_EQ(add(1, 1, 4294967294u), 0); /* disk 1..2^32-2 */
	CHECK_EQ(m.n, 2);
	CHECK_EQ(idmap_to_view(&m, 4294967295u, &out), 0);
	CHECK_EQ(out, 0);
	CHECK_EQ(idmap_to_disk(&m, 0, &out), 0);
	CHECK_EQ(out, 4294967295u);
	CHECK_EQ(idmap_to_view(&m, 4294967294u, &out), 0);
	CHECK_EQ(out, 4294967294u);

	idmap_init(&m);
	CHECK_EQ(add(1, 1, 4294967295u), 0); /* 1 + count == 2^32 */
	CHECK_EQ(idmap_to_view(&m, 4294967295u, &out), 0);
	CHECK_EQ(out, 4294967295u);
	CHECK_EQ(idmap_to_view(&m, 0, &out), -EOVERFLOW);
	CHECK_EQ(idmap_size(&m), 4294967295u);
}

static void test_past_id_space(void)
{
	idmap_init(&m);
	CHECK_EQ(add(4294967295u, 0, 2), -ERANGE);
	CHECK_STR(d.msg, "range 4294967295:0:2 runs past id 4294967295");
	CHECK_EQ(add(0, 4294967295u, 2), -ERANGE); /* view side */
	CHECK_EQ(add(2, 1, 4294967295u), -ERANGE);
	CHECK_EQ(add(1, 2, 4294967295u), -ERANGE);
	CHECK_EQ(add(4294967295u, 4294967295u, 4294967295u), -ERANGE);
	CHECK_EQ(m.n, 0);
}

static void test_overlap_disk(void)
{
	idmap_init(&m);
	CHECK_EQ(add(100, 1000, 10), 0);
	CHECK_EQ(add(109, 5000, 1), -EINVAL); /* last id of the range */
	CHECK_STR(d.msg, "range 109:5000:1 overlaps range 100:1000:10 on "
			 "the disk side");
	CHECK_EQ(add(90, 5000, 11), -EINVAL);  /* first id of the range */
	CHECK_EQ(add(0, 5000, 1000), -EINVAL); /* contains it */
	CHECK_EQ(add(105, 5000, 1), -EINVAL);  /* inside it */
	CHECK_CONTAINS(d.msg, "disk side");
	CHECK_EQ(m.n, 1);
}

static void test_overlap_view(void)
{
	idmap_init(&m);
	CHECK_EQ(add(100, 1000, 10), 0);
	CHECK_EQ(add(0, 1009, 1), -EINVAL);
	CHECK_STR(d.msg, "range 0:1009:1 overlaps range 100:1000:10 on "
			 "the view side");
	CHECK_EQ(add(0, 995, 6), -EINVAL);
	CHECK_CONTAINS(d.msg, "view side");
	CHECK_EQ(m.n, 1);
}

static void test_touching_allowed(void)
{
	uint32_t out;

	idmap_init(&m);
	CHECK_EQ(add(100, 1000, 10), 0);
	CHECK_EQ(add(110, 1010, 10), 0); /* touches on both sides */
	CHECK_EQ(add(90, 990, 10), 0);	 /* touches from below */
	CHECK_EQ(add(0, 2000, 90), 0);
	CHECK_EQ(m.n, 4);
	CHECK_EQ(idmap_to_view(&m, 89, &out), 0);
	CHECK_EQ(out, 2089);
	CHECK_EQ(idmap_to_view(&m, 90, &out), 0);
	CHECK_EQ(out, 990);
	CHECK_EQ(idmap_to_view(&m, 119, &out), 0);
	CHECK_EQ(out, 1019);
	CHECK_EQ(idmap_to_view(&m, 120, &out), -EOVERFLOW);
}

static void test_max_ranges(void)
{
	uint32_t i, out;

	idmap_init(&m);
	for (i = 0; i < IDMAP_MAX_RANGES; i++)
		CHECK_EQ(add(2 * i, 100000 + 3 * i, 1), 0);
	CHECK_EQ(m.n, 340);
	CHECK_EQ(add(10000, 10000, 1), -E2BIG);
	CHECK_STR(d.msg, "more than 340 ranges");
	CHECK_EQ(m.n, 340);
	CHECK_EQ(idmap_to_view(&m, 2 * 339, &out), 0);
	CHECK_EQ(out, 100000 + 3 * 339);
	CHECK_EQ(idmap_to_view(&m, 2 * 339 + 1, &out), -EOVERFLOW);
}

/* Many ranges in a scrambled order: edges of each, both directions. */
static void test_lookup_edges_unsorted(void)
{
	uint32_t order[200], i, out;
	unsigned int seed = 12345;

	for (i = 0; i < 200; i++)
		order[i] = i;
	for (i = 199; i > 0; i--) {
		uint32_t j, t;
		seed = seed * 1103515245u + 12345u;
		j = (seed >> 8) % (i + 1);
		t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	/* Range k: disk 1000k..1000k+k, view descending so both indexes
	 * differ from insertion order: view (199-k)*1000 + 500000. */
	idmap_init(&m);
	for (i = 0; i < 200; i++) {
		uint32_t k = order[i];
		CHECK_EQ(add(1000 * k, (199 - k) * 1000 + 500000, k + 1), 0);
	}
	for (i = 0; i < 200; i++) {
		uint32_t disk = 1000 * i, view = (199 - i) * 1000 + 500000;
		CHECK_EQ(idmap_to_view(&m, disk, &out), 0);
		CHECK_EQ(out, view);
		CHECK_EQ(idmap_to_view(&m, disk + i, &out), 0);
		CHECK_EQ(out, view + i);
		out = 7;
		CHECK_EQ(idmap_to_view(&m, disk + i + 1, &out), -EOVERFLOW);
		CHECK_EQ(out, 7); /* untouched when unmapped */
		if (i > 0)
			CHECK_EQ(idmap_to_view(&m, disk - 1, &out), -EOVERFLOW);
		CHECK_EQ(idmap_to_disk(&m, view, &out), 0);
		CHECK_EQ(out, disk);
		CHECK_EQ(idmap_to_disk(&m, view + i, &out), 0);
		CHECK_EQ(out, disk + i);
		CHECK_EQ(idmap_to_disk(&m, view + i + 1, &out), -EOVERFLOW);
		CHECK_EQ(idmap_to_disk(&m, view - 1, &out), -EOVERFLOW);
		CHECK_EQ(idmap_translate(&m, true, disk, &out), 0);
		CHECK_EQ(out, view);
		CHECK_EQ(idmap_translate(&m, false, view, &out), 0);
		CHECK_EQ(out, disk);
	}
	CHECK_EQ(idmap_to_view(&m, 4294967295u, &out), -EOVERFLOW);
	CHECK_EQ(idmap_to_disk(&m, 0, &out), -EOVERFLOW);
}

static void test_special_ids(void)
{
	static const uint32_t ids[] = {0, 65534, 4294967294u, 4294967295u};
	uint32_t i, out;

	idmap_init(&m);
	CHECK_EQ(idmap_to_view(&m, 0, &out), -EOVERFLOW); /* empty map */
	CHECK_EQ(idmap_to_disk(&m, 0, &out), -EOVERFLOW);
	CHECK_EQ(add(0, 65534, 1), 0);
	CHECK_EQ(add(65534, 4294967294u, 1), 0);
	CHECK_EQ(add(4294967294u, 0, 2), 0);
	/* 0 -> 65534 -> 4294967294 -> 0, and 4294967295 -> 1 */
	for (i = 0; i < 3; i++) {
		CHECK_EQ(idmap_to_view(&m, ids[i], &out), 0);
		CHECK_EQ(out, ids[(i + 1) % 3]);
		CHECK_EQ(idmap_to_disk(&m, out, &out), 0);
		CHECK_EQ(out, ids[i]);
	}
	CHECK_EQ(idmap_to_view(&m, 4294967295u, &out), 0);
	CHECK_EQ(out, 1);
	CHECK_EQ(idmap_to_disk(&m, 4294967295u, &out), -EOVERFLOW);
}

static void test_overflow_ids(void)
{
	struct idmaps ms;

	idmaps_init(&ms);
	ms.overflow_uid = 65534;
	ms.overflow_gid = 65533;
	CHECK_EQ(idmap_add(&ms.uid, 0, 1000, 1, NULL), 0);
	CHECK_EQ(idmap_add(&ms.gid, 0, 2000, 1, NULL), 0);
	CHECK_EQ(idmaps_uid_to_view(&ms, 0), 1000);
	CHECK_EQ(idmaps_gid_to_view(&ms, 0), 2000);
	CHECK_EQ(idmaps_uid_to_view(&ms, 1), 65534);
	CHECK_EQ(idmaps_gid_to_view(&ms, 1), 65533);
	CHECK_EQ(idmaps_uid_to_view(&ms, 4294967295u), 65534);
}

static uint32_t read_proc_u32(const char *path, uint32_t fallback)
{
	unsigned long v;
	FILE *f = fopen(path, "r");

	if (!f)
		return fallback;
	if (fscanf(f, "%lu", &v) != 1)
		v = fallback;
	fclose(f);
	return (uint32_t)v;
}

static void test_idmaps_init_overflow(void)
{
	struct idmaps ms;

	idmaps_init(&ms);
	CHECK_EQ(ms.uid.n, 0);
	CHECK_EQ(ms.gid.n, 0);
	CHECK_EQ(ms.overflow_uid,
		 read_proc_u32("/proc/sys/kernel/overflowuid", 65534));
	CHECK_EQ(ms.overflow_gid,
		 read_proc_u32("/proc/sys/kernel/overflowgid", 65534));
}

static void test_identity(void)
{
	idmap_init(&m);
	CHECK(!idmap_is_identity(&m)); /* empty is not identity */
	CHECK_EQ(add(0, 0, 4294967295u), 0);
	CHECK(idmap_is_identity(&m));
	CHECK_EQ(add(4294967295u, 4294967295u, 1), 0);
	CHECK(idmap_is_identity(&m));
	CHECK_EQ(idmap_size(&m), ID_SPACE);

	idmap_init(&m);
	CHECK_EQ(add(10, 10, 5), 0);
	CHECK_EQ(add(0, 0, 5), 0);
	CHECK(idmap_is_identity(&m)); /* partial, but each id to itself */
	CHECK_EQ(add(100, 101, 1), 0);
	CHECK(!idmap_is_identity(&m));
}

static void test_invert(void)
{
	uint32_t out;

	idmap_init(&m);
	CHECK_EQ(add(1, 100000, 65536), 0);
	CHECK_EQ(add(0, 1000, 1), 0);
	idmap_invert(&m);
	CHECK_EQ(m.n, 2);
	CHECK_EQ(m.r[0].disk, 100000);
	CHECK_EQ(m.r[0].view, 1);
	CHECK_EQ(m.r[0].count, 65536);
	CHECK_EQ(idmap_to_view(&m, 1000, &out), 0);
	CHECK_EQ(out, 0);
	CHECK_EQ(idmap_to_view(&m, 165535, &out), 0);
	CHECK_EQ(out, 65536);
	CHECK_EQ(idmap_to_view(&m, 165536, &out), -EOVERFLOW);
	CHECK_EQ(idmap_to_disk(&m, 0, &out), 0);
	CHECK_EQ(out, 1000);
	CHECK_EQ(idmap_to_disk(&m, 1, &out), 0);
	CHECK_EQ(out, 100000);
	CHECK_EQ(idmap_to_view(&m, 0, &out), -EOVERFLOW);
	/* The inverted map still validates new ranges against both sides. */
	CHECK_EQ(add(500, 0, 1), -EINVAL);
	CHECK_CONTAINS(d.msg, "view side");
	idmap_invert(&m);
	CHECK_EQ(idmap_to_view(&m, 0, &out), 0);
	CHECK_EQ(out, 1000);
}

static void test_format(void)
{
	char buf[128];

	idmap_init(&m);
	CHECK_EQ(idmap_format(&m, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "");
	CHECK_EQ(idmap_format_spec(&m, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "");
	CHECK_EQ(add(0, 1000, 1), 0);
	CHECK_EQ(add(1, 100000, 65536), 0);
	CHECK_EQ(add(4294967295u, 4294967295u, 1), 0);
	const char *proc =
		"0 1000 1\n1 100000 65536\n4294967295 4294967295 1\n";
	const char *spec = "0:1000:1,1:100000:65536,4294967295:4294967295:1";
	const char *opt = "0:1000:1:1:100000:65536:4294967295:4294967295:1";
	CHECK_EQ(idmap_format(&m, buf, sizeof(buf)), strlen(proc));
	CHECK_STR(buf, proc);
	CHECK_EQ(idmap_format_spec(&m, buf, sizeof(buf)), strlen(spec));
	CHECK_STR(buf, spec);
	CHECK_EQ(idmap_format_opt(&m, buf, sizeof(buf)), strlen(opt));
	CHECK_STR(buf, opt);
}

static void test_format_truncation(void)
{
	const char *full = "0:1000:1,1:100000:65536";
	char buf[32];
	size_t k;

	idmap_init(&m);
	CHECK_EQ(add(0, 1000, 1), 0);
	CHECK_EQ(add(1, 100000, 65536), 0);
	CHECK_EQ(idmap_format_spec(&m, NULL, 0), 23);
	for (k = 1; k <= 24; k++) {
		memset(buf, 'X', sizeof(buf));
		CHECK_EQ(idmap_format_spec(&m, buf, k), 23);
		CHECK_EQ(strlen(buf), k - 1 < 23 ? k - 1 : 23);
		CHECK(strncmp(buf, full, strlen(buf)) == 0);
		CHECK_EQ(buf[k], 'X'); /* nothing past len */
	}
	memset(buf, 'X', sizeof(buf));
	CHECK_EQ(idmap_format(&m, buf, 5), 24);
	CHECK_STR(buf, "0 10");
	CHECK_EQ(buf[5], 'X');
	CHECK_EQ(idmap_format_opt(&m, buf, 10), 23);
	CHECK_STR(buf, "0:1000:1:");
}

int main(void)
{
	static const struct tap_case cases[] = {
		TAP_CASE(test_count_zero),
		TAP_CASE(test_end_of_id_space),
		TAP_CASE(test_past_id_space),
		TAP_CASE(test_overlap_disk),
		TAP_CASE(test_overlap_view),
		TAP_CASE(test_touching_allowed),
		TAP_CASE(test_max_ranges),
		TAP_CASE(test_lookup_edges_unsorted),
		TAP_CASE(test_special_ids),
		TAP_CASE(test_overflow_ids),
		TAP_CASE(test_idmaps_init_overflow),
		TAP_CASE(test_identity),
		TAP_CASE(test_invert),
		TAP_CASE(test_format),
		TAP_CASE(test_format_truncation),
	};

	return tap_main(cases, sizeof(cases) / sizeof(cases[0]));
}
