/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * acl_xattr.c: the raw system.posix_acl_* value: validation, decode and
 * encode, shifting ACL_USER/ACL_GROUP entries both ways, and the view of
 * an ACL (entries naming unmapped disk ids hidden) with the write back that
 * keeps them.
 */
#include <endian.h>
#include <errno.h>
#include <linux/posix_acl.h>

#include "acl_xattr.h"
#include "tap.h"

#define HDR 4
#define ENT 8

static struct idmaps ms;

/* Little-endian blob: version, then (tag, perm, id) triples. */
static size_t blob(uint8_t *buf, uint32_t version,
		   const struct acl_xattr_entry *e, size_t n)
{
	uint32_t v = htole32(version);
	size_t i;

	memcpy(buf, &v, 4);
	for (i = 0; i < n; i++) {
		uint16_t t = htole16(e[i].tag), p = htole16(e[i].perm);
		uint32_t id = htole32(e[i].id);
		memcpy(buf + HDR + i * ENT, &t, 2);
		memcpy(buf + HDR + i * ENT + 2, &p, 2);
		memcpy(buf + HDR + i * ENT + 4, &id, 4);
	}
	return HDR + n * ENT;
}

static uint32_t id_at(const uint8_t *buf, size_t i)
{
	uint32_t id;

	memcpy(&id, buf + HDR + i * ENT + 4, 4);
	return le32toh(id);
}

static const struct acl_xattr_entry basic[] = {
	{ACL_USER_OBJ, 7, 0xffffffff},
	{ACL_USER, 6, 0},
	{ACL_USER, 4, 65535},
	{ACL_GROUP_OBJ, 5, 0xffffffff},
	{ACL_GROUP, 4, 10},
	{ACL_MASK, 7, 0xffffffff},
	{ACL_OTHER, 0, 0xffffffff},
};
#define NBASIC (sizeof(basic) / sizeof(basic[0]))

/* uid: 0..65535 -> 100000..; gid: 0..65535 -> 200000..; overflow 65534 */
static void maps(void)
{
	idmaps_init(&ms);
	ms.overflow_uid = 65534;
	ms.overflow_gid = 65533;
	CHECK_EQ(idmap_add(&ms.uid, 0, 100000, 65536, NULL), 0);
	CHECK_EQ(idmap_add(&ms.gid, 0, 200000, 65536, NULL), 0);
}

static void test_is_acl(void)
{
	CHECK(acl_xattr_is_acl("system.posix_acl_access"));
	CHECK(acl_xattr_is_acl("system.posix_acl_default"));
	CHECK(!acl_xattr_is_acl("system.posix_acl"));
	CHECK(!acl_xattr_is_acl("user.posix_acl_access"));
	CHECK(!acl_xattr_is_acl("security.capability"));
}

static void test_count_valid(void)
{
	uint8_t buf[HDR + 16 * ENT];
	size_t n;

	CHECK_EQ(acl_xattr_count(buf, blob(buf, 2, basic, 0)), 0);
	CHECK_EQ(acl_xattr_count(buf, blob(buf, 2, basic, 1)), 1);
	for (n = 2; n <= NBASIC; n++)
		CHECK_EQ(acl_xattr_count(buf, blob(buf, 2, basic, n)), n);
}

static void test_count_invalid(void)
{
	uint8_t buf[HDR + 16 * ENT];
	size_t len = blob(buf, 2, basic, NBASIC), k;
	struct acl_xattr_entry bad = {0x40, 7, 1};

	CHECK_EQ(acl_xattr_count(buf, 0), -EINVAL);
	CHECK_EQ(acl_xattr_count(buf, 3), -EINVAL); /* shorter than header */
	for (k = 1; k < ENT; k++)		    /* size not header + 8n */
		CHECK_EQ(acl_xattr_count(buf, len - k), -EINVAL);
	CHECK_EQ(acl_xattr_count(buf, HDR + 1), -EINVAL);
	CHECK_EQ(acl_xattr_count(buf, blob(buf, 1, basic, 2)), -EINVAL);
	CHECK_EQ(acl_xattr_count(buf, blob(buf, 3, basic, 2)), -EINVAL);
	CHECK_EQ(acl_xattr_count(buf, blob(buf, 0x02000000, basic, 2)),
		 -EINVAL); /* big-endian 2 */
	CHECK_EQ(acl_xattr_count(buf, blob(buf, 2, &bad, 1)), -EINVAL);
	bad.tag = 0;
	CHECK_EQ(acl_xattr_count(buf, blob(buf, 2, &bad, 1)), -EINVAL);
}

static void test_decode_encode(void)
{
	uint8_t buf[HDR + 16 * ENT], out[HDR + 16 * ENT];
	struct acl_xattr_entry e[16];
	size_t len = blob(buf, 2, basic, NBASIC), i;

	CHECK_EQ(acl_xattr_decode(buf, len, e, 16), NBASIC);
	for (i = 0; i < NBASIC; i++) {
		CHECK_EQ(e[i].tag, basic[i].tag);
		CHECK_EQ(e[i].perm, basic[i].perm);
		CHECK_EQ(e[i].id, basic[i].id);
	}
	CHECK_EQ(acl_xattr_decode(buf, len, e, NBASIC - 1), -ERANGE);
	CHECK_EQ(acl_xattr_decode(buf, len - 1, e, 16), -EINVAL);

	/* encode: size query, too small writes nothing, then exact bytes */
	CHECK_EQ(acl_xattr_encode(basic, NBASIC, NULL, 0), len);
	memset(out, 0xAA, sizeof(out));
	CHECK_EQ(acl_xattr_encode(basic, NBASIC, out, len - 1), len);
	CHECK_EQ(out[0], 0xAA);
	CHECK_EQ(acl_xattr_encode(basic, NBASIC, out, sizeof(out)), len);
	CHECK(memcmp(out, buf, len) == 0);
	CHECK_EQ(acl_xattr_encode(basic, 0, out, sizeof(out)), HDR);
	CHECK_EQ(acl_xattr_count(out, HDR), 0);
}

static void test_shift_to_view(void)
{
	uint8_t buf[HDR + 16 * ENT], orig[HDR + 16 * ENT];
	size_t len = blob(buf, 2, basic, NBASIC), i;

	maps();
	memcpy(orig, buf, len);
	CHECK_EQ(acl_xattr_shift(buf, len, &ms, true), 1);
	CHECK_EQ(id_at(buf, 1), 100000);
	CHECK_EQ(id_at(buf, 2), 165535);
	CHECK_EQ(id_at(buf, 4), 200010);
	/* USER_OBJ, GROUP_OBJ, MASK, OTHER: byte for byte the same */
	for (i = 0; i < NBASIC; i++) {
		if (basic[i].tag == ACL_USER || basic[i].tag == ACL_GROUP)
			continue;
		CHECK(memcmp(buf + HDR + i * ENT, orig + HDR + i * ENT, ENT) ==
		      0);
	}
	/* perms and tags of shifted entries untouched too */
	CHECK(memcmp(buf + HDR + ENT, orig + HDR + ENT, 4) == 0);

	/* and back */
	CHECK_EQ(acl_xattr_shift(buf, len, &ms, false), 1);
	CHECK(memcmp(buf, orig, len) == 0);
}

/* An unmapped disk id is never shown as the overflow id (or any id). */
static void test_shift_unmapped_to_view(void)
{
	const struct acl_xattr_entry e[] = {
		{ACL_USER, 7, 65536},
		{ACL_GROUP, 7, 4294967295u},
		{ACL_USER, 7, 1},
	};
	uint8_t buf[HDR + 3 * ENT], orig[HDR + 3 * ENT];
	size_t len = blob(buf, 2, e, 3);

	maps();
	memcpy(orig, buf, len);
	CHECK_EQ(acl_xattr_shift(buf, len, &ms, true), -EOVERFLOW);
	CHECK(memcmp(buf, orig, len) == 0);
}

/* The view leaves out entries naming unmapped disk ids, keeps the mask. */
static void test_to_view_hides_unmapped(void)
{
	const struct acl_xattr_entry e[] = {
		{ACL_USER_OBJ, 6, 0xffffffff}, {ACL_USER, 7, 65536},
		{ACL_USER, 4, 1},	       {ACL_GROUP_OBJ, 4, 0xffffffff},
		{ACL_GROUP, 7, 4294967295u},   {ACL_GROUP, 2, 70000},
		{ACL_MASK, 7, 0xffffffff},     {ACL_OTHER, 0, 0xffffffff},
	};
	struct acl_xattr_entry out[8];
	uint8_t buf[HDR + 8 * ENT];
	size_t len = blob(buf, 2, e, 8);

	maps();
	CHECK_EQ(acl_xattr_to_view(buf, len, &ms), (int)(HDR + 5 * ENT));
	CHECK_EQ(acl_xattr_decode(buf, HDR + 5 * ENT, out, 8), 5);
	CHECK(out[0].tag == ACL_USER_OBJ && out[0].perm == 6);
	CHECK(out[1].tag == ACL_USER && out[1].id == 100001 &&
	      out[1].perm == 4);
	CHECK(out[2].tag == ACL_GROUP_OBJ);
	CHECK(out[3].tag == ACL_MASK && out[3].perm == 7);
	CHECK(out[4].tag == ACL_OTHER);
	/* nothing to hide: same size, shifted, sorted */
	len = blob(buf, 2, basic, NBASIC);
	CHECK_EQ(acl_xattr_to_view(buf, len, &ms), (int)len);
	CHECK_EQ(id_at(buf, 1), 100000);
	CHECK_EQ(id_at(buf, 2), 165535);
	CHECK_EQ(acl_xattr_to_view(buf, len - 1, &ms), -EINVAL);
}

/*
 * Writing an ACL back keeps the entries the view hid (setfacl -m through
 * the mount must not delete them), in canonical order, under the mask the
 * writer gave; a mode-equivalent ACL (no mask: setfacl -b) keeps none.
 */
static void test_to_disk_keeps_hidden(void)
{
	const struct acl_xattr_entry disk[] = {
		{ACL_USER_OBJ, 6, 0xffffffff}, {ACL_USER, 4, 3},
		{ACL_USER, 7, 65536},	       {ACL_GROUP_OBJ, 4, 0xffffffff},
		{ACL_GROUP, 7, 70000},	       {ACL_MASK, 7, 0xffffffff},
		{ACL_OTHER, 0, 0xffffffff},
	};
	/* the view as setfacl -m u:100009:rw- writes it: u:3 dropped */
	const struct acl_xattr_entry view[] = {
		{ACL_USER_OBJ, 6, 0xffffffff}, {ACL_USER, 6, 100009},
		{ACL_GROUP_OBJ, 4, 0xffffffff}, {ACL_MASK, 6, 0xffffffff},
		{ACL_OTHER, 0, 0xffffffff},
	};
	const struct acl_xattr_entry minimal[] = {
		{ACL_USER_OBJ, 6, 0xffffffff},
		{ACL_GROUP_OBJ, 4, 0xffffffff},
		{ACL_OTHER, 0, 0xffffffff},
	};
	const struct acl_xattr_entry bad[] = {{ACL_USER, 6, 1000}};
	uint8_t d[HDR + 7 * ENT], v[HDR + 5 * ENT], out[HDR + 12 * ENT];
	struct acl_xattr_entry o[12];
	size_t dl = blob(d, 2, disk, 7), vl = blob(v, 2, view, 5);

	maps();
	CHECK_EQ(acl_xattr_to_disk(v, vl, d, dl, &ms, out, sizeof(out)),
		 (int)(HDR + 7 * ENT));
	CHECK_EQ(acl_xattr_decode(out, HDR + 7 * ENT, o, 12), 7);
	CHECK(o[0].tag == ACL_USER_OBJ);
	CHECK(o[1].tag == ACL_USER && o[1].id == 9 && o[1].perm == 6);
	CHECK(o[2].tag == ACL_USER && o[2].id == 65536 && o[2].perm == 7);
	CHECK(o[3].tag == ACL_GROUP_OBJ);
	CHECK(o[4].tag == ACL_GROUP && o[4].id == 70000);
	CHECK(o[5].tag == ACL_MASK && o[5].perm == 6);
	CHECK(o[6].tag == ACL_OTHER);
	/* too small an output buffer, then no disk value at all */
	CHECK_EQ(acl_xattr_to_disk(v, vl, d, dl, &ms, out, HDR + 6 * ENT),
		 -ERANGE);
	CHECK_EQ(acl_xattr_to_disk(v, vl, NULL, 0, &ms, out, sizeof(out)),
		 (int)vl);
	CHECK_EQ(id_at(out, 1), 9);
	/* a malformed disk value hides nothing */
	CHECK_EQ(acl_xattr_to_disk(v, vl, d, dl - 1, &ms, out, sizeof(out)),
		 (int)vl);
	/* setfacl -b: nothing kept */
	vl = blob(v, 2, minimal, 3);
	CHECK_EQ(acl_xattr_to_disk(v, vl, d, dl, &ms, out, sizeof(out)),
		 (int)vl);
	CHECK(memcmp(out, v, vl) == 0);
	/*
	 * A mask raised over hidden entries: u:65536 (rwx) was held to r-x
	 * by the old mask r-x; a new mask rwx would give it w: refused.
	 * Lowering the mask, or keeping it, is fine.
	 */
	{
		struct acl_xattr_entry held[7], raise[5];

		memcpy(held, disk, sizeof(held));
		held[5].perm = 5; /* mask r-x */
		memcpy(raise, view, sizeof(raise));
		dl = blob(d, 2, held, 7);
		raise[3].perm = 7; /* mask rwx */
		vl = blob(v, 2, raise, 5);
		CHECK_EQ(acl_xattr_to_disk(v, vl, d, dl, &ms, out,
					   sizeof(out)),
			 -EPERM);
		raise[3].perm = 4; /* mask r-- */
		vl = blob(v, 2, raise, 5);
		CHECK_EQ(acl_xattr_to_disk(v, vl, d, dl, &ms, out,
					   sizeof(out)),
			 (int)(HDR + 7 * ENT));
		dl = blob(d, 2, disk, 7);
	}
	/* an unmapped view id: refused, nothing written */
	vl = blob(v, 2, bad, 1);
	memset(out, 0xAA, sizeof(out));
	CHECK_EQ(acl_xattr_to_disk(v, vl, d, dl, &ms, out, sizeof(out)),
		 -EOVERFLOW);
	CHECK_EQ(out[0], 0xAA);
	CHECK_EQ(acl_xattr_to_disk(v, vl - 1, d, dl, &ms, out, sizeof(out)),
		 -EINVAL);
	/* in place (out == view) works as well */
	vl = blob(out, 2, view, 5);
	CHECK_EQ(acl_xattr_to_disk(out, vl, d, dl, &ms, out, sizeof(out)),
		 (int)(HDR + 7 * ENT));
	CHECK_EQ(id_at(out, 1), 9);
	CHECK_EQ(id_at(out, 2), 65536);
}

static void test_shift_unmapped_to_disk(void)
{
	const struct acl_xattr_entry e[] = {
		{ACL_USER, 7, 100005},	/* mapped */
		{ACL_GROUP, 7, 200000}, /* mapped */
		{ACL_USER, 7, 1000},	/* unmapped view uid */
	};
	const struct acl_xattr_entry g[] = {
		{ACL_USER, 7, 100005},
		{ACL_GROUP, 7, 100000}, /* a view uid, but not a view gid */
	};
	uint8_t buf[HDR + 3 * ENT], orig[HDR + 3 * ENT];
	size_t len = blob(buf, 2, e, 3);

	maps();
	memcpy(orig, buf, len);
	CHECK_EQ(acl_xattr_shift(buf, len, &ms, false), -EOVERFLOW);
	CHECK(memcmp(buf, orig, len) == 0); /* nothing half-shifted */
	len = blob(buf, 2, g, 2);
	memcpy(orig, buf, len);
	CHECK_EQ(acl_xattr_shift(buf, len, &ms, false), -EOVERFLOW);
	CHECK(memcmp(buf, orig, len) == 0);
}

static void test_shift_return_values(void)
{
	const struct acl_xattr_entry only_obj[] = {
		{ACL_USER_OBJ, 7, 0xffffffff},
		{ACL_GROUP_OBJ, 5, 0xffffffff},
		{ACL_OTHER, 0, 0xffffffff},
	};
	const struct acl_xattr_entry fixed[] = {{ACL_USER, 7, 5}};
	uint8_t buf[HDR + 3 * ENT];
	size_t len;

	maps();
	len = blob(buf, 2, only_obj, 3);
	CHECK_EQ(acl_xattr_shift(buf, len, &ms, true), 0);
	CHECK_EQ(acl_xattr_shift(buf, len, &ms, false), 0);
	len = blob(buf, 2, only_obj, 0);
	CHECK_EQ(acl_xattr_shift(buf, len, &ms, true), 0);

	/* an id that maps to itself is not a change */
	idmaps_init(&ms);
	CHECK_EQ(idmap_add(&ms.uid, 0, 0, 10, NULL), 0);
	len = blob(buf, 2, fixed, 1);
	CHECK_EQ(acl_xattr_shift(buf, len, &ms, true), 0);
	CHECK_EQ(acl_xattr_shift(buf, len, &ms, false), 0);
	CHECK_EQ(id_at(buf, 0), 5);
}

static void test_shift_malformed(void)
{
	uint8_t buf[HDR + 16 * ENT], orig[HDR + 16 * ENT];
	size_t len = blob(buf, 1, basic, NBASIC);

	maps();
	memcpy(orig, buf, len);
	CHECK_EQ(acl_xattr_shift(buf, len, &ms, true), -EINVAL);
	CHECK_EQ(acl_xattr_shift(buf, 2, &ms, true), -EINVAL);
	len = blob(buf, 2, basic, NBASIC);
	memcpy(orig, buf, len);
	CHECK_EQ(acl_xattr_shift(buf, len - 4, &ms, true), -EINVAL);
	CHECK_EQ(acl_xattr_shift(buf, len - 4, &ms, false), -EINVAL);
	CHECK(memcmp(buf, orig, len) == 0);
}

static void test_unaligned(void)
{
	uint8_t raw[1 + HDR + 16 * ENT];
	uint8_t *buf = raw + 1; /* getxattr buffers need not be aligned */
	size_t len = blob(buf, 2, basic, NBASIC);

	maps();
	CHECK_EQ(acl_xattr_count(buf, len), NBASIC);
	CHECK_EQ(acl_xattr_shift(buf, len, &ms, true), 1);
	CHECK_EQ(id_at(buf, 1), 100000);
}

/* A map that swaps ids reverses their order; sorting restores the
 * kernel's canonical order (tag, then id) without losing an entry. */
static void test_sort_after_swapping_map(void)
{
	static const struct acl_xattr_entry in[] = {
		{ACL_USER_OBJ, 7, 0xffffffff}, {ACL_USER, 6, 0},
		{ACL_USER, 4, 1000},           {ACL_GROUP_OBJ, 5, 0xffffffff},
		{ACL_GROUP, 1, 0},             {ACL_GROUP, 2, 1000},
		{ACL_MASK, 7, 0xffffffff},     {ACL_OTHER, 0, 0xffffffff},
	};
	struct acl_xattr_entry out[8];
	struct idmaps swap;
	uint8_t buf[HDR + 8 * ENT];
	size_t size = blob(buf, 2, in, 8);

	idmaps_init(&swap);
	CHECK_EQ(idmap_add(&swap.uid, 0, 1000, 1, NULL), 0);
	CHECK_EQ(idmap_add(&swap.uid, 1000, 0, 1, NULL), 0);
	CHECK_EQ(idmap_add(&swap.gid, 0, 1000, 1, NULL), 0);
	CHECK_EQ(idmap_add(&swap.gid, 1000, 0, 1, NULL), 0);
	CHECK_EQ(acl_xattr_shift(buf, size, &swap, false), 1);
	CHECK_EQ(id_at(buf, 1), 1000);
	CHECK_EQ(id_at(buf, 2), 0);
	CHECK_EQ(acl_xattr_sort(buf, size), 1);
	CHECK_EQ(acl_xattr_decode(buf, size, out, 8), 8);
	CHECK(out[1].tag == ACL_USER && out[1].id == 0 && out[1].perm == 4);
	CHECK(out[2].tag == ACL_USER && out[2].id == 1000 && out[2].perm == 6);
	CHECK(out[4].tag == ACL_GROUP && out[4].id == 0 && out[4].perm == 2);
	CHECK(out[5].tag == ACL_GROUP && out[5].id == 1000 && out[5].perm == 1);
	CHECK(out[0].tag == ACL_USER_OBJ && out[7].tag == ACL_OTHER);
	CHECK_EQ(acl_xattr_sort(buf, size), 0); /* idempotent */
	CHECK_EQ(acl_xattr_sort(buf, 3), -EINVAL);
}

int main(void)
{
	static const struct tap_case cases[] = {
		TAP_CASE(test_is_acl),
		TAP_CASE(test_count_valid),
		TAP_CASE(test_count_invalid),
		TAP_CASE(test_decode_encode),
		TAP_CASE(test_shift_to_view),
		TAP_CASE(test_shift_unmapped_to_view),
		TAP_CASE(test_to_view_hides_unmapped),
		TAP_CASE(test_to_disk_keeps_hidden),
		TAP_CASE(test_shift_unmapped_to_disk),
		TAP_CASE(test_shift_return_values),
		TAP_CASE(test_shift_malformed),
		TAP_CASE(test_unaligned),
		TAP_CASE(test_sort_after_swapping_map),
	};

	return tap_main(cases, sizeof(cases) / sizeof(cases[0]));
}
