/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fcaps_xattr.c: security.capability revisions and the v3 root id shift.
 */
#include <endian.h>
#include <errno.h>
#include <linux/capability.h>

#include "fcaps_xattr.h"
#include "tap.h"

static struct idmap m;

/* A value of revision rev (1, 2, 3) with the given size and root id. */
static size_t caps(uint8_t *buf, uint32_t magic, size_t size, uint32_t root)
{
	uint32_t w[6] = {htole32(magic | VFS_CAP_FLAGS_EFFECTIVE),
			 htole32(0x400),
			 0,
			 htole32(1),
			 0,
			 htole32(root)};

	memset(buf, 0, 32);
	memcpy(buf, w, size < sizeof(w) ? size : sizeof(w));
	return size;
}

static void map(void)
{
	idmap_init(&m);
	CHECK_EQ(idmap_add(&m, 0, 100000, 65536, NULL), 0);
}

static void test_revision(void)
{
	uint8_t buf[32];

	CHECK_EQ(fcaps_xattr_revision(buf, caps(buf, VFS_CAP_REVISION_1,
						XATTR_CAPS_SZ_1, 0)),
		 1);
	CHECK_EQ(fcaps_xattr_revision(buf, caps(buf, VFS_CAP_REVISION_2,
						XATTR_CAPS_SZ_2, 0)),
		 2);
	CHECK_EQ(fcaps_xattr_revision(buf, caps(buf, VFS_CAP_REVISION_3,
						XATTR_CAPS_SZ_3, 0)),
		 3);
	CHECK_EQ(XATTR_CAPS_SZ_1, 12);
	CHECK_EQ(XATTR_CAPS_SZ_2, 20);
	CHECK_EQ(XATTR_CAPS_SZ_3, 24);
}

static void test_wrong_sizes(void)
{
	uint8_t buf[32] = {0};
	uint32_t root = 7;

	CHECK_EQ(fcaps_xattr_revision(buf, 0), -EINVAL);
	CHECK_EQ(fcaps_xattr_revision(buf, 3), -EINVAL);
	caps(buf, VFS_CAP_REVISION_1, 32, 0);
	CHECK_EQ(fcaps_xattr_revision(buf, 20), -EINVAL);
	caps(buf, VFS_CAP_REVISION_2, 32, 0);
	CHECK_EQ(fcaps_xattr_revision(buf, 24), -EINVAL);
	CHECK_EQ(fcaps_xattr_revision(buf, 12), -EINVAL);
	caps(buf, VFS_CAP_REVISION_3, 32, 0);
	CHECK_EQ(fcaps_xattr_revision(buf, 20), -EINVAL);
	CHECK_EQ(fcaps_xattr_revision(buf, 28), -EINVAL);
	caps(buf, 0x04000000, 32, 0);
	CHECK_EQ(fcaps_xattr_revision(buf, 24), -EINVAL);
	caps(buf, 0, 32, 0);
	CHECK_EQ(fcaps_xattr_revision(buf, 24), -EINVAL);

	map();
	caps(buf, VFS_CAP_REVISION_3, 32, 5);
	CHECK_EQ(fcaps_xattr_shift(buf, 23, &m, true), -EINVAL);
	CHECK_EQ(fcaps_xattr_shift(buf, 25, &m, false), -EINVAL);
	CHECK_EQ(fcaps_xattr_rootid(buf, 23, &root), -EINVAL);
	CHECK_EQ(root, 7);
}

static void test_v1_v2_unchanged(void)
{
	uint8_t buf[32], orig[32];
	size_t len;

	map();
	len = caps(buf, VFS_CAP_REVISION_1, XATTR_CAPS_SZ_1, 0);
	memcpy(orig, buf, sizeof(buf));
	CHECK_EQ(fcaps_xattr_shift(buf, len, &m, true), 0);
	CHECK_EQ(fcaps_xattr_shift(buf, len, &m, false), 0);
	CHECK(memcmp(buf, orig, sizeof(buf)) == 0);

	len = caps(buf, VFS_CAP_REVISION_2, XATTR_CAPS_SZ_2, 0);
	memcpy(orig, buf, sizeof(buf));
	CHECK_EQ(fcaps_xattr_shift(buf, len, &m, true), 0);
	CHECK_EQ(fcaps_xattr_shift(buf, len, &m, false), 0);
	CHECK(memcmp(buf, orig, sizeof(buf)) == 0);
	uint32_t root;
	CHECK_EQ(fcaps_xattr_rootid(buf, len, &root), -EINVAL);
}

static void test_v3_shift(void)
{
	uint8_t buf[32], orig[32];
	uint32_t root;
	size_t len;

	map();
	len = caps(buf, VFS_CAP_REVISION_3, XATTR_CAPS_SZ_3, 0);
	memcpy(orig, buf, sizeof(buf));
	CHECK_EQ(fcaps_xattr_rootid(buf, len, &root), 0);
	CHECK_EQ(root, 0);
	CHECK_EQ(fcaps_xattr_shift(buf, len, &m, true), 1);
	CHECK_EQ(fcaps_xattr_rootid(buf, len, &root), 0);
	CHECK_EQ(root, 100000);
	/* only the root id changed */
	CHECK(memcmp(buf, orig, 20) == 0);
	CHECK_EQ(fcaps_xattr_shift(buf, len, &m, false), 1);
	CHECK(memcmp(buf, orig, sizeof(buf)) == 0);

	len = caps(buf, VFS_CAP_REVISION_3, XATTR_CAPS_SZ_3, 165535);
	CHECK_EQ(fcaps_xattr_shift(buf, len, &m, false), 1);
	CHECK_EQ(fcaps_xattr_rootid(buf, len, &root), 0);
	CHECK_EQ(root, 65535);
}

static void test_v3_unmapped(void)
{
	uint8_t buf[32], orig[32];
	size_t len;

	map();
	len = caps(buf, VFS_CAP_REVISION_3, XATTR_CAPS_SZ_3, 65536);
	memcpy(orig, buf, sizeof(buf));
	CHECK_EQ(fcaps_xattr_shift(buf, len, &m, true), -EOVERFLOW);
	CHECK(memcmp(buf, orig, sizeof(buf)) == 0);
	len = caps(buf, VFS_CAP_REVISION_3, XATTR_CAPS_SZ_3, 99999);
	memcpy(orig, buf, sizeof(buf));
	CHECK_EQ(fcaps_xattr_shift(buf, len, &m, false), -EOVERFLOW);
	CHECK(memcmp(buf, orig, sizeof(buf)) == 0);
}

static void test_v3_identity(void)
{
	uint8_t buf[32];
	size_t len;

	idmap_init(&m);
	CHECK_EQ(idmap_add(&m, 0, 0, 4294967295u, NULL), 0);
	len = caps(buf, VFS_CAP_REVISION_3, XATTR_CAPS_SZ_3, 1000);
	CHECK_EQ(fcaps_xattr_shift(buf, len, &m, true), 0);
	CHECK_EQ(fcaps_xattr_shift(buf, len, &m, false), 0);
}

static uint32_t word(const uint8_t *buf, size_t i)
{
	uint32_t w;

	memcpy(&w, buf + 4 * i, 4);
	return le32toh(w);
}

/* v1/v2 mean "for disk root": shown as v3 owned by the view of disk 0. */
static void test_convert_v2_to_v3(void)
{
	uint8_t in[32], out[FCAPS_XATTR_MAX + 8];
	uint32_t root;
	size_t len;

	map();
	len = caps(in, VFS_CAP_REVISION_2, XATTR_CAPS_SZ_2, 0);
	memset(out, 0xAA, sizeof(out));
	CHECK_EQ(fcaps_xattr_convert(in, len, out, &m, true), XATTR_CAPS_SZ_3);
	CHECK_EQ(fcaps_xattr_revision(out, XATTR_CAPS_SZ_3), 3);
	CHECK_EQ(fcaps_xattr_rootid(out, XATTR_CAPS_SZ_3, &root), 0);
	CHECK_EQ(root, 100000);
	CHECK_EQ(word(out, 0), VFS_CAP_REVISION_3 | VFS_CAP_FLAGS_EFFECTIVE);
	CHECK(memcmp(out + 4, in + 4, 16) == 0); /* the capability sets */
	CHECK_EQ(out[FCAPS_XATTR_MAX], 0xAA);	 /* nothing past the max */

	/* and back: view 100000 is disk root, kept as v3 with root id 0 */
	CHECK_EQ(fcaps_xattr_convert(out, XATTR_CAPS_SZ_3, out, &m, false),
		 XATTR_CAPS_SZ_3);
	CHECK_EQ(fcaps_xattr_rootid(out, XATTR_CAPS_SZ_3, &root), 0);
	CHECK_EQ(root, 0);
	CHECK(memcmp(out + 4, in + 4, 16) == 0);
}

static void test_convert_v1(void)
{
	uint8_t in[32], out[FCAPS_XATTR_MAX];
	size_t len;

	map();
	len = caps(in, VFS_CAP_REVISION_1, XATTR_CAPS_SZ_1, 0);
	CHECK_EQ(fcaps_xattr_convert(in, len, out, &m, true), XATTR_CAPS_SZ_3);
	CHECK_EQ(fcaps_xattr_revision(out, XATTR_CAPS_SZ_3), 3);
	CHECK_EQ(word(out, 1), 0x400); /* permitted, low word */
	CHECK_EQ(word(out, 2), 0);     /* inheritable, low word */
	CHECK_EQ(word(out, 3), 0);     /* the upper words v1 lacks are 0 */
	CHECK_EQ(word(out, 4), 0);
	CHECK_EQ(word(out, 5), 100000);
}

static void test_convert_identity_keeps_revision(void)
{
	uint8_t in[32], out[FCAPS_XATTR_MAX];
	size_t len;

	idmap_init(&m);
	CHECK_EQ(idmap_add(&m, 0, 0, 1, NULL), 0);
	len = caps(in, VFS_CAP_REVISION_2, XATTR_CAPS_SZ_2, 0);
	CHECK_EQ(fcaps_xattr_convert(in, len, out, &m, true), XATTR_CAPS_SZ_2);
	CHECK(memcmp(out, in, XATTR_CAPS_SZ_2) == 0);
	len = caps(in, VFS_CAP_REVISION_1, XATTR_CAPS_SZ_1, 0);
	CHECK_EQ(fcaps_xattr_convert(in, len, in, &m, true), XATTR_CAPS_SZ_1);
	CHECK_EQ(fcaps_xattr_revision(in, XATTR_CAPS_SZ_1), 1);
}

static void test_convert_v3(void)
{
	uint8_t in[32], orig[32], out[FCAPS_XATTR_MAX];
	uint32_t root;
	size_t len;

	map();
	len = caps(in, VFS_CAP_REVISION_3, XATTR_CAPS_SZ_3, 65535);
	memcpy(orig, in, sizeof(in));
	CHECK_EQ(fcaps_xattr_convert(in, len, out, &m, true), XATTR_CAPS_SZ_3);
	CHECK_EQ(fcaps_xattr_rootid(out, len, &root), 0);
	CHECK_EQ(root, 165535);
	CHECK(memcmp(in, orig, sizeof(in)) == 0); /* in is only read */
	CHECK_EQ(fcaps_xattr_convert(out, len, out, &m, false),
		 XATTR_CAPS_SZ_3);
	CHECK(memcmp(out, orig, len) == 0);

	/* in place */
	CHECK_EQ(fcaps_xattr_convert(in, len, in, &m, true), XATTR_CAPS_SZ_3);
	CHECK_EQ(fcaps_xattr_rootid(in, len, &root), 0);
	CHECK_EQ(root, 165535);
}

static void test_convert_unmapped(void)
{
	uint8_t in[32], out[FCAPS_XATTR_MAX];
	size_t len;

	map();
	len = caps(in, VFS_CAP_REVISION_3, XATTR_CAPS_SZ_3, 65536);
	CHECK_EQ(fcaps_xattr_convert(in, len, out, &m, true), -EOVERFLOW);
	len = caps(in, VFS_CAP_REVISION_3, XATTR_CAPS_SZ_3, 5);
	CHECK_EQ(fcaps_xattr_convert(in, len, out, &m, false), -EOVERFLOW);
	/* v2 means root: a view without a root id 0 cannot store it */
	len = caps(in, VFS_CAP_REVISION_2, XATTR_CAPS_SZ_2, 0);
	CHECK_EQ(fcaps_xattr_convert(in, len, out, &m, false), -EOVERFLOW);
	idmap_init(&m);
	CHECK_EQ(idmap_add(&m, 1, 1, 10, NULL), 0);
	CHECK_EQ(fcaps_xattr_convert(in, len, out, &m, true), -EOVERFLOW);
}

static void test_convert_malformed(void)
{
	uint8_t in[32] = {0}, out[FCAPS_XATTR_MAX];

	map();
	caps(in, VFS_CAP_REVISION_2, 32, 0);
	CHECK_EQ(fcaps_xattr_convert(in, 24, out, &m, true), -EINVAL);
	CHECK_EQ(fcaps_xattr_convert(in, 0, out, &m, true), -EINVAL);
	caps(in, VFS_CAP_REVISION_3, 32, 0);
	CHECK_EQ(fcaps_xattr_convert(in, 20, out, &m, true), -EINVAL);
}

int main(void)
{
	static const struct tap_case cases[] = {
		TAP_CASE(test_revision),
		TAP_CASE(test_wrong_sizes),
		TAP_CASE(test_v1_v2_unchanged),
		TAP_CASE(test_v3_shift),
		TAP_CASE(test_v3_unmapped),
		TAP_CASE(test_v3_identity),
		TAP_CASE(test_convert_v2_to_v3),
		TAP_CASE(test_convert_v1),
		TAP_CASE(test_convert_identity_keeps_revision),
		TAP_CASE(test_convert_v3),
		TAP_CASE(test_convert_unmapped),
		TAP_CASE(test_convert_malformed),
	};

	return tap_main(cases, sizeof(cases) / sizeof(cases[0]));
}
