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

int main(void)
{
	static const struct tap_case cases[] = {
		TAP_CASE(test_revision),	TAP_CASE(test_wrong_sizes),
		TAP_CASE(test_v1_v2_unchanged), TAP_CASE(test_v3_shift),
		TAP_CASE(test_v3_unmapped),	TAP_CASE(test_v3_identity),
	};

	return tap_main(cases, sizeof(cases) / sizeof(cases[0]));
}
