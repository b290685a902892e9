/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * access.c: the kernel's permission rules on plain data. The owner's bits
 * decide for the owner, the group's for a member, other's for the rest;
 * an ACL's named entries and groups are limited by its mask; an unmapped
 * (invalid) owner matches nobody and no capability applies over it;
 * container root's capabilities count only over owners mapped in its
 * namespace; a sticky directory lets only the owners delete; deleting
 * needs write and search on the parent.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include "access.h"
#include "idmap.h"
#include "tap.h"

#define RW (ACCESS_R | ACCESS_W)
#define RWX (ACCESS_R | ACCESS_W | ACCESS_X)

static const uint32_t no_groups[1];

/* A plain caller: host uid and gid, no supplementary groups, not root. */
static struct access_cred cred(uint32_t uid, uint32_t gid)
{
	struct access_cred c = {
		.uid = uid,
		.gid = gid,
		.groups = no_groups,
		.ngroups = 0,
	};

	return c;
}

static struct access_inode file(uint32_t uid, uint32_t gid, uint32_t mode)
{
	struct access_inode ino = {
		.uid = uid,
		.gid = gid,
		.mode = S_IFREG | mode,
	};

	return ino;
}

static struct access_inode dir(uint32_t uid, uint32_t gid, uint32_t mode)
{
	struct access_inode ino = {
		.uid = uid,
		.gid = gid,
		.mode = S_IFDIR | mode,
	};

	return ino;
}

/* A container namespace: its ids 0..65535 are host 100000..165535. */
static const struct idmaps *ns_map(void)
{
	static struct idmaps m;
	static bool built;
	struct shift_diag d;

	if (!built) {
		idmap_init(&m.uid);
		idmap_init(&m.gid);
		CHECK_EQ(idmap_add(&m.uid, 0, 100000, 65536, &d), 0);
		CHECK_EQ(idmap_add(&m.gid, 0, 100000, 65536, &d), 0);
		built = true;
	}
	return &m;
}

static struct access_cred ns_root(void)
{
	struct access_cred c = cred(100000, 100000);

	c.ns_root = true;
	c.ns = ns_map();
	return c;
}

static void test_owner_bits_decide_for_the_owner(void)
{
	struct access_cred c = cred(1000, 1000);
	struct access_inode f = file(1000, 2000, 0466);
	struct access_result r;

	CHECK_EQ(access_permission(&f, &c, ACCESS_R, &r), 0);
	CHECK_EQ(r.cls, ACCESS_CLASS_OWNER);
	CHECK_EQ(access_permission(&f, &c, ACCESS_W, &r), -EACCES);
	CHECK_EQ(r.err, -EACCES);
	CHECK_EQ(r.cls, ACCESS_CLASS_OWNER);
	CHECK_EQ(r.entry_perm, ACCESS_R);
	/* Fewer bits than other: the owner is still judged by its own. */
	f.mode = S_IFREG | 0047;
	CHECK_EQ(access_permission(&f, &c, ACCESS_R, &r), -EACCES);
	CHECK_EQ(r.cls, ACCESS_CLASS_OWNER);
	CHECK_EQ(r.entry_perm, 0);
}

static void test_group_bits_for_members(void)
{
	static const uint32_t groups[] = {3000, 2000};
	struct access_cred c = cred(1000, 1000);
	struct access_inode f = file(0, 2000, 0640);
	struct access_result r;

	/* Not a member: other's bits, none. */
	CHECK_EQ(access_permission(&f, &c, ACCESS_R, &r), -EACCES);
	CHECK_EQ(r.cls, ACCESS_CLASS_OTHER);
	/* A supplementary group is a member. */
	c.groups = groups;
	c.ngroups = 2;
	CHECK(access_in_group(&c, 2000));
	CHECK_EQ(access_permission(&f, &c, ACCESS_R, &r), 0);
	CHECK_EQ(r.cls, ACCESS_CLASS_GROUP);
	CHECK_EQ(access_permission(&f, &c, ACCESS_W, &r), -EACCES);
	CHECK_EQ(r.cls, ACCESS_CLASS_GROUP);
	/* The fsgid is a member too. */
	c = cred(1000, 2000);
	CHECK_EQ(access_permission(&f, &c, ACCESS_R, &r), 0);
	/* A member with fewer group bits than other is denied. */
	f.mode = S_IFREG | 0604;
	CHECK_EQ(access_permission(&f, &c, ACCESS_R, &r), -EACCES);
	CHECK_EQ(r.cls, ACCESS_CLASS_GROUP);
}

static void test_other_bits(void)
{
	struct access_cred c = cred(1000, 1000);
	struct access_inode f = file(0, 0, 0604);
	struct access_result r;

	CHECK_EQ(access_permission(&f, &c, ACCESS_R, &r), 0);
	CHECK_EQ(r.cls, ACCESS_CLASS_OTHER);
	CHECK_EQ(access_permission(&f, &c, RW, &r), -EACCES);
	CHECK_EQ(r.cls, ACCESS_CLASS_OTHER);
	CHECK_EQ(r.entry_perm, ACCESS_R);
	/* NULL result is allowed. */
	CHECK_EQ(access_permission(&f, &c, ACCESS_R, NULL), 0);
}

static void test_acl_mask_limits_named_user(void)
{
	const struct access_acl_entry acl[] = {
		{ACCESS_ACL_USER_OBJ, RWX, 0},
		{ACCESS_ACL_USER, RW, 1000},
		{ACCESS_ACL_GROUP_OBJ, ACCESS_R, 0},
		{ACCESS_ACL_MASK, ACCESS_R, 0},
		{ACCESS_ACL_OTHER, 0, 0},
	};
	struct access_cred c = cred(1000, 1000);
	struct access_inode f = file(0, 0, 0740);
	struct access_result r;

	f.acl = acl;
	f.acl_n = 5;
	CHECK_EQ(access_permission(&f, &c, ACCESS_R, &r), 0);
	CHECK_EQ(r.cls, ACCESS_CLASS_ACL_USER);
	CHECK_EQ(access_permission(&f, &c, ACCESS_W, &r), -EACCES);
	CHECK_EQ(r.cls, ACCESS_CLASS_ACL_USER);
	CHECK(r.mask_denied);
	CHECK(r.has_mask);
	CHECK_EQ(r.mask_perm, ACCESS_R);
	CHECK_EQ(r.entry_perm, RW);
	CHECK_EQ(r.acl_id, 1000);
	/* Asking for what the entry itself lacks is not the mask's doing. */
	CHECK_EQ(access_permission(&f, &c, ACCESS_X, &r), -EACCES);
	CHECK(!r.mask_denied);
}

static void test_acl_named_user_is_not_compared_with_groups(void)
{
	const struct access_acl_entry acl[] = {
		{ACCESS_ACL_USER_OBJ, RWX, 0},	{ACCESS_ACL_USER, 0, 1000},
		{ACCESS_ACL_GROUP_OBJ, RWX, 0}, {ACCESS_ACL_MASK, RWX, 0},
		{ACCESS_ACL_OTHER, RWX, 0},
	};
	struct access_cred c = cred(1000, 0); /* in the owning group too */
	struct access_inode f = file(0, 0, 0777);
	struct access_result r;

	f.acl = acl;
	f.acl_n = 5;
	CHECK_EQ(access_permission(&f, &c, ACCESS_R, &r), -EACCES);
	CHECK_EQ(r.cls, ACCESS_CLASS_ACL_USER);
	CHECK(!r.mask_denied);
	/* Another uid falls through to the groups. */
	c.uid = 1001;
	CHECK_EQ(access_permission(&f, &c, ACCESS_R, &r), 0);
	CHECK_EQ(r.cls, ACCESS_CLASS_ACL_GROUPS);
}

static void test_acl_named_groups(void)
{
	const struct access_acl_entry acl[] = {
		{ACCESS_ACL_USER_OBJ, RWX, 0},
		{ACCESS_ACL_GROUP_OBJ, 0, 0},
		{ACCESS_ACL_GROUP, RW, 2000},
		{ACCESS_ACL_GROUP, ACCESS_R, 3000},
		{ACCESS_ACL_MASK, RWX, 0},
		{ACCESS_ACL_OTHER, RWX, 0},
	};
	static const uint32_t groups[] = {2000};
	struct access_cred c = cred(1000, 3000);
	struct access_inode f = file(0, 0, 0770);
	struct access_result r;

	f.acl = acl;
	f.acl_n = 6;
	/* Group 3000 grants r; none of USER's groups grants w: denied, and
	 * other (rwx) is not consulted. */
	CHECK_EQ(access_permission(&f, &c, ACCESS_R, &r), 0);
	CHECK_EQ(r.cls, ACCESS_CLASS_ACL_GROUPS);
	CHECK_EQ(access_permission(&f, &c, ACCESS_W, &r), -EACCES);
	CHECK_EQ(r.cls, ACCESS_CLASS_ACL_GROUPS);
	CHECK_EQ(r.entry_perm, 0);
	/* Any matching group that grants all of it is enough. */
	c.groups = groups;
	c.ngroups = 1;
	CHECK_EQ(access_permission(&f, &c, RW, &r), 0);
	/* No group matches: other decides. */
	c = cred(1000, 4000);
	CHECK_EQ(access_permission(&f, &c, RWX, &r), 0);
	CHECK_EQ(r.cls, ACCESS_CLASS_OTHER);
}

static void test_acl_mask_limits_groups(void)
{
	const struct access_acl_entry acl[] = {
		{ACCESS_ACL_USER_OBJ, RWX, 0},
		{ACCESS_ACL_GROUP_OBJ, RW, 0},
		{ACCESS_ACL_MASK, ACCESS_R, 0},
		{ACCESS_ACL_OTHER, 0, 0},
	};
	struct access_cred c = cred(1000, 0);
	struct access_inode f = file(0, 0, 0740);
	struct access_result r;

	f.acl = acl;
	f.acl_n = 4;
	CHECK_EQ(access_permission(&f, &c, ACCESS_W, &r), -EACCES);
	CHECK_EQ(r.cls, ACCESS_CLASS_ACL_GROUPS);
	CHECK(r.mask_denied);
	/* The mask never limits the owner. */
	c = cred(0, 5);
	CHECK_EQ(access_permission(&f, &c, RWX, &r), 0);
	CHECK_EQ(r.cls, ACCESS_CLASS_OWNER);
}

static void test_acl_ignored_without_group_bits(void)
{
	const struct access_acl_entry acl[] = {
		{ACCESS_ACL_USER_OBJ, RWX, 0},	 {ACCESS_ACL_USER, RWX, 1000},
		{ACCESS_ACL_GROUP_OBJ, 0, 0},	 {ACCESS_ACL_MASK, 0, 0},
		{ACCESS_ACL_OTHER, ACCESS_R, 0},
	};
	struct access_cred c = cred(1000, 1000);
	struct access_inode f = file(0, 0, 0704);
	struct access_result r;

	f.acl = acl;
	f.acl_n = 5;
	/* A zero mask (group bits): the kernel goes by the mode bits. */
	CHECK_EQ(access_permission(&f, &c, ACCESS_R, &r), 0);
	CHECK_EQ(r.cls, ACCESS_CLASS_OTHER);
	CHECK_EQ(access_permission(&f, &c, ACCESS_W, &r), -EACCES);
	CHECK_EQ(r.cls, ACCESS_CLASS_OTHER);
}

static void test_invalid_owner_matches_nobody(void)
{
	struct access_cred c = cred(ACCESS_ID_INVALID, ACCESS_ID_INVALID);
	struct access_inode f =
		file(ACCESS_ID_INVALID, ACCESS_ID_INVALID, 0660);
	struct access_result r;

	/* Not even a caller whose ids are the same number. */
	CHECK(!access_in_group(&c, ACCESS_ID_INVALID));
	CHECK_EQ(access_permission(&f, &c, ACCESS_R, &r), -EACCES);
	CHECK_EQ(r.cls, ACCESS_CLASS_OTHER);
	/* A named ACL entry for the invalid id matches nobody either. */
	{
		const struct access_acl_entry acl[] = {
			{ACCESS_ACL_USER_OBJ, RWX, 0},
			{ACCESS_ACL_USER, RWX, ACCESS_ID_INVALID},
			{ACCESS_ACL_GROUP_OBJ, 0, 0},
			{ACCESS_ACL_MASK, RWX, 0},
			{ACCESS_ACL_OTHER, 0, 0},
		};
		struct access_inode g = file(0, 0, 0770);

		g.acl = acl;
		g.acl_n = 5;
		CHECK_EQ(access_permission(&g, &c, ACCESS_R, &r), -EACCES);
		CHECK_EQ(r.cls, ACCESS_CLASS_OTHER);
	}
}

static void test_invalid_owner_no_capability(void)
{
	/* Real root (ns NULL: every valid id mapped) still has no
	 * CAP_DAC_OVERRIDE over an invalid owner or group. */
	struct access_cred c = cred(0, 0);
	struct access_inode f = file(ACCESS_ID_INVALID, 0, 0600);
	struct access_result r;

	c.ns_root = true;
	CHECK(!access_inode_mapped(&c, &f));
	CHECK_EQ(access_permission(&f, &c, ACCESS_R, &r), -EACCES);
	CHECK(!r.by_cap);
	CHECK(r.cap_unmapped);
	f.uid = 5;
	f.gid = ACCESS_ID_INVALID;
	CHECK(!access_inode_mapped(&c, &f));
	CHECK_EQ(access_permission(&f, &c, ACCESS_R, &r), -EACCES);
	f.gid = 5;
	CHECK(access_inode_mapped(&c, &f));
	CHECK_EQ(access_permission(&f, &c, RW, &r), 0);
	CHECK(r.by_cap);
}

static void test_ns_root_over_mapped_owners_only(void)
{
	struct access_cred c = ns_root();
	struct access_inode mapped = file(101000, 101000, 0600);
	struct access_inode host = file(1000, 1000, 0600);
	struct access_inode half = file(101000, 1000, 0600);
	struct access_result r;

	CHECK(access_inode_mapped(&c, &mapped));
	CHECK_EQ(access_permission(&mapped, &c, RW, &r), 0);
	CHECK(r.by_cap);
	/* Owner outside the namespace's map. */
	CHECK(!access_inode_mapped(&c, &host));
	CHECK_EQ(access_permission(&host, &c, ACCESS_R, &r), -EACCES);
	CHECK(r.cap_unmapped);
	CHECK(!r.by_cap);
	/* Owner and group must both be mapped. */
	CHECK(!access_inode_mapped(&c, &half));
	CHECK_EQ(access_permission(&half, &c, ACCESS_R, &r), -EACCES);
	/* Not root in the namespace: no capabilities at all. */
	c.ns_root = false;
	CHECK_EQ(access_permission(&mapped, &c, ACCESS_R, &r), -EACCES);
	CHECK(!r.cap_unmapped);
}

static void test_ns_root_exec_needs_an_x_bit(void)
{
	struct access_cred c = ns_root();
	struct access_inode f = file(101000, 101000, 0600);
	struct access_inode d = dir(101000, 101000, 0000);
	struct access_result r;

	/* CAP_DAC_OVERRIDE grants exec only with some x bit set. */
	CHECK_EQ(access_permission(&f, &c, ACCESS_X, &r), -EACCES);
	CHECK(!r.cap_unmapped);
	f.mode = S_IFREG | 0610; /* an x bit USER's class does not have */
	CHECK_EQ(access_permission(&f, &c, ACCESS_X, &r), 0);
	CHECK(r.by_cap);
	/* A directory is always searchable and writable for it. */
	CHECK_EQ(access_permission(&d, &c, RWX, &r), 0);
	CHECK(r.by_cap);
}

static void test_search_on_parent_for_delete(void)
{
	struct access_cred c = cred(1000, 1000);
	struct access_inode child = file(1000, 1000, 0600);
	struct access_inode parent = dir(1000, 1000, 0600); /* no x */
	struct access_result r;

	CHECK_EQ(access_permission(&parent, &c, ACCESS_X, &r), -EACCES);
	CHECK_EQ(access_may_delete(&parent, &child, &c, &r), -EACCES);
	CHECK(!r.sticky);
	parent.mode = S_IFDIR | 0500; /* search, no write */
	CHECK_EQ(access_may_delete(&parent, &child, &c, &r), -EACCES);
	parent.mode = S_IFDIR | 0700;
	CHECK_EQ(access_may_delete(&parent, &child, &c, &r), 0);
	CHECK_EQ(access_may_delete(&parent, &child, &c, NULL), 0);
}

static void test_sticky_directory(void)
{
	struct access_cred c = cred(1000, 1000);
	struct access_inode tmp = dir(0, 0, 01777);
	struct access_inode mine = file(1000, 1000, 0600);
	struct access_inode theirs = file(2000, 2000, 0666);
	struct access_result r;

	CHECK_EQ(access_may_delete(&tmp, &mine, &c, &r), 0);
	CHECK_EQ(access_may_delete(&tmp, &theirs, &c, &r), -EPERM);
	CHECK(r.sticky);
	CHECK_EQ(r.err, -EPERM);
	CHECK(!r.cap_unmapped);
	/* The directory's owner may. */
	tmp.uid = 1000;
	CHECK_EQ(access_may_delete(&tmp, &theirs, &c, &r), 0);
	/* Without the sticky bit anyone with w+x on it may. */
	tmp = dir(0, 0, 0777);
	CHECK_EQ(access_may_delete(&tmp, &theirs, &c, &r), 0);
}

static void test_sticky_ns_root_fowner(void)
{
	struct access_cred c = ns_root();
	struct access_inode tmp = dir(100000, 100000, 01777);
	struct access_inode mapped = file(101000, 101000, 0600);
	struct access_inode host = file(1000, 1000, 0600);
	struct access_inode invalid = file(ACCESS_ID_INVALID, 101000, 0600);
	struct access_result r;

	c.uid = 100001; /* not the directory's owner */
	CHECK_EQ(access_may_delete(&tmp, &mapped, &c, &r), 0);
	CHECK(r.by_cap);
	CHECK_EQ(access_may_delete(&tmp, &host, &c, &r), -EPERM);
	CHECK(r.sticky);
	CHECK(r.cap_unmapped);
	CHECK_EQ(access_may_delete(&tmp, &invalid, &c, &r), -EPERM);
	CHECK(r.cap_unmapped);
}

static void test_perm_str(void)
{
	char b[4];

	CHECK_STR(access_perm_str(0, b), "---");
	CHECK_STR(access_perm_str(RWX, b), "rwx");
	CHECK_STR(access_perm_str(ACCESS_R | ACCESS_X, b), "r-x");
}

static void test_explain(void)
{
	const struct access_acl_entry acl[] = {
		{ACCESS_ACL_USER_OBJ, RWX, 0},
		{ACCESS_ACL_USER, RW, 1000},
		{ACCESS_ACL_GROUP_OBJ, ACCESS_R, 0},
		{ACCESS_ACL_MASK, ACCESS_R, 0},
		{ACCESS_ACL_OTHER, 0, 0},
	};
	struct access_cred c = cred(1000, 1000);
	struct access_inode f = file(1000, 0, 0400);
	struct access_result r;
	char buf[400];

	access_permission(&f, &c, ACCESS_W, &r);
	access_explain(&r, ACCESS_W, buf, sizeof(buf));
	CHECK_STR(buf, "USER is the owner, owner has r--, needs -w-");
	access_permission(&f, &c, ACCESS_R, &r);
	access_explain(&r, ACCESS_R, buf, sizeof(buf));
	CHECK_STR(buf, "granted (permission bits)");

	f = file(0, 0, 0740);
	f.acl = acl;
	f.acl_n = 5;
	access_permission(&f, &c, ACCESS_W, &r);
	access_explain(&r, ACCESS_W, buf, sizeof(buf));
	CHECK_STR(buf, "ACL mask r-- limits named-user entry for host uid "
		       "1000 (rw-), needs -w-");

	c = ns_root();
	f = file(1000, 1000, 0600);
	access_permission(&f, &c, ACCESS_R, &r);
	access_explain(&r, ACCESS_R, buf, sizeof(buf));
	CHECK_CONTAINS(buf, "other has ---, needs r--");
	CHECK_CONTAINS(buf, "CAP_DAC_OVERRIDE does not apply");

	f = dir(0, 0, 01777);
	{
		struct access_inode child = file(2000, 2000, 0600);

		c = cred(1000, 1000);
		access_may_delete(&f, &child, &c, &r);
		access_explain(&r, ACCESS_W, buf, sizeof(buf));
		CHECK_CONTAINS(buf, "sticky directory");
	}
}

int main(void)
{
	static const struct tap_case cases[] = {
		TAP_CASE(test_owner_bits_decide_for_the_owner),
		TAP_CASE(test_group_bits_for_members),
		TAP_CASE(test_other_bits),
		TAP_CASE(test_acl_mask_limits_named_user),
		TAP_CASE(test_acl_named_user_is_not_compared_with_groups),
		TAP_CASE(test_acl_named_groups),
		TAP_CASE(test_acl_mask_limits_groups),
		TAP_CASE(test_acl_ignored_without_group_bits),
		TAP_CASE(test_invalid_owner_matches_nobody),
		TAP_CASE(test_invalid_owner_no_capability),
		TAP_CASE(test_ns_root_over_mapped_owners_only),
		TAP_CASE(test_ns_root_exec_needs_an_x_bit),
		TAP_CASE(test_search_on_parent_for_delete),
		TAP_CASE(test_sticky_directory),
		TAP_CASE(test_sticky_ns_root_fowner),
		TAP_CASE(test_perm_str),
		TAP_CASE(test_explain),
	};

	return tap_main(cases, sizeof(cases) / sizeof(cases[0]));
}
