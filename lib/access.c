/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kernel's permission rules as pure functions (see access.h). Each
 * function names the kernel function it follows; the order of the checks is
 * the kernel's, because the order is what decides (an owner with fewer bits
 * than "other" is denied; a named user is never compared with the groups).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "access.h"

bool access_in_group(const struct access_cred *c, uint32_t gid)
{
	size_t i;

	if (gid == ACCESS_ID_INVALID)
		return false;
	if (c->gid == gid)
		return true;
	for (i = 0; i < c->ngroups; i++)
		if (c->groups[i] == gid)
			return true;
	return false;
}

bool access_inode_mapped(const struct access_cred *c,
			 const struct access_inode *ino)
{
	uint32_t unused;

	/* An invalid owner is never "mapped": no CAP_DAC_OVERRIDE,
	 * CAP_DAC_READ_SEARCH or CAP_FOWNER over it, even for real root. */
	if (ino->uid == ACCESS_ID_INVALID || ino->gid == ACCESS_ID_INVALID)
		return false;
	if (!c->ns)
		return true;
	return idmap_to_disk(&c->ns->uid, ino->uid, &unused) == 0 &&
	       idmap_to_disk(&c->ns->gid, ino->gid, &unused) == 0;
}

/* The caller's fsuid is uid (an invalid id is nobody's). */
static bool is_uid(const struct access_cred *c, uint32_t uid)
{
	return uid != ACCESS_ID_INVALID && uid == c->uid;
}

/* posix_acl_permission(): 0, -EACCES, or -EAGAIN for "no usable ACL". One
 * piece with the kernel's gotos, so it can be read against the kernel. */
static int acl_check(const struct access_inode *ino,
		     const struct access_cred *c, unsigned want,
		     struct access_result *res)
{
	const struct access_acl_entry *pa, *pe = ino->acl + ino->acl_n;
	bool found = false;
	size_t i;

	res->has_mask = false;
	for (i = 0; i < ino->acl_n; i++)
		if (ino->acl[i].tag == ACCESS_ACL_MASK) {
			res->has_mask = true;
			res->mask_perm = ino->acl[i].perm;
		}

	for (pa = ino->acl; pa < pe; pa++) {
		switch (pa->tag) {
		case ACCESS_ACL_USER_OBJ:
			if (is_uid(c, ino->uid)) {
				res->cls = ACCESS_CLASS_OWNER;
				goto check_perm;
			}
			break;
		case ACCESS_ACL_USER:
			if (is_uid(c, pa->id)) {
				res->cls = ACCESS_CLASS_ACL_USER;
				res->acl_id = pa->id;
				goto mask;
			}
			break;
		case ACCESS_ACL_GROUP_OBJ:
			if (access_in_group(c, ino->gid)) {
				found = true;
				if ((pa->perm & want) == want) {
					res->cls = ACCESS_CLASS_ACL_GROUPS;
					goto mask;
				}
			}
			break;
		case ACCESS_ACL_GROUP:
			if (access_in_group(c, pa->id)) {
				found = true;
				if ((pa->perm & want) == want) {
					res->cls = ACCESS_CLASS_ACL_GROUPS;
					goto mask;
				}
			}
			break;
		case ACCESS_ACL_MASK:
			break;
		case ACCESS_ACL_OTHER:
			if (found) {
				/* Some group matched, none granted all. */
				res->cls = ACCESS_CLASS_ACL_GROUPS;
				res->entry_perm = 0;
				return -EACCES;
			}
			res->cls = ACCESS_CLASS_OTHER;
			goto check_perm;
		default:
			return -EIO;
		}
	}
	return -EIO;

mask:
	res->entry_perm = pa->perm;
	for (const struct access_acl_entry *m = pa + 1; m < pe; m++) {
		if (m->tag != ACCESS_ACL_MASK)
			continue;
		if ((pa->perm & m->perm & want) == want)
			return 0;
		res->mask_denied = (pa->perm & want) == want;
		return -EACCES;
	}
check_perm:
	res->entry_perm = pa->perm;
	return (pa->perm & want) == want ? 0 : -EACCES;
}

/* acl_permission_check() */
static int mode_check(const struct access_inode *ino,
		      const struct access_cred *c, unsigned want,
		      struct access_result *res)
{
	unsigned mode = ino->mode;

	if (is_uid(c, ino->uid)) {
		res->cls = ACCESS_CLASS_OWNER;
		res->entry_perm = (mode >> 6) & 7;
		return (want & ~(mode >> 6) & 7) ? -EACCES : 0;
	}
	/* The kernel consults the ACL only when the group bits (the mask,
	 * with an ACL) are not all zero. */
	if (ino->acl && ino->acl_n > 0 && (mode & S_IRWXG)) {
		int r = acl_check(ino, c, want, res);

		if (r != -EAGAIN)
			return r;
	}
	want &= 7;
	res->cls = ACCESS_CLASS_OTHER;
	if ((want & (mode ^ (mode >> 3))) && access_in_group(c, ino->gid)) {
		mode >>= 3;
		res->cls = ACCESS_CLASS_GROUP;
	} else if (access_in_group(c, ino->gid)) {
		/* Group and other bits agree on what was asked. */
		res->cls = ACCESS_CLASS_GROUP;
	}
	res->entry_perm = mode & 7;
	return (want & ~mode) ? -EACCES : 0;
}

int access_permission(const struct access_inode *ino,
		      const struct access_cred *c, unsigned want,
		      struct access_result *res)
{
	struct access_result dummy;
	bool cap_would = false, mapped;
	int r;

	if (!res)
		res = &dummy;
	memset(res, 0, sizeof(*res));
	want &= ACCESS_R | ACCESS_W | ACCESS_X;
	r = mode_check(ino, c, want, res);
	if (r != -EACCES)
		return res->err = r;

	/* generic_permission(): the capabilities, via
	 * capable_wrt_inode_uidgid(). */
	mapped = access_inode_mapped(c, ino);
	if (S_ISDIR(ino->mode)) {
		/* CAP_DAC_READ_SEARCH for read/search, CAP_DAC_OVERRIDE for
		 * anything on a directory. */
		cap_would = c->ns_root;
	} else if (want == ACCESS_R) {
		cap_would = c->ns_root;
	} else if (!(want & ACCESS_X) || (ino->mode & 0111)) {
		/* Exec is overridable only with some x bit set. */
		cap_would = c->ns_root;
	}
	if (cap_would && mapped) {
		res->by_cap = true;
		return res->err = 0;
	}
	res->cap_unmapped = cap_would && !mapped;
	return res->err = -EACCES;
}

int access_may_delete(const struct access_inode *dir,
		      const struct access_inode *child,
		      const struct access_cred *c, struct access_result *res)
{
	struct access_result dummy;
	int r;

	if (!res)
		res = &dummy;
	r = access_permission(dir, c, ACCESS_W | ACCESS_X, res);
	if (r)
		return r;
	if (!(dir->mode & S_ISVTX))
		return 0;
	/* __check_sticky() */
	if (is_uid(c, child->uid) || is_uid(c, dir->uid))
		return 0;
	if (c->ns_root && access_inode_mapped(c, child)) {
		res->by_cap = true;
		return 0;
	}
	res->sticky = true;
	res->cap_unmapped = c->ns_root;
	return res->err = -EPERM;
}

const char *access_perm_str(unsigned perm, char buf[4])
{
	buf[0] = perm & ACCESS_R ? 'r' : '-';
	buf[1] = perm & ACCESS_W ? 'w' : '-';
	buf[2] = perm & ACCESS_X ? 'x' : '-';
	buf[3] = '\0';
	return buf;
}

/* Long only in its message texts: one per deciding rule. */
void access_explain(const struct access_result *res, unsigned want, char *buf,
		    size_t len)
{
	char p[4], m[4], w[4];
	const char *tail =
		res->cap_unmapped
			? "; container root's CAP_DAC_OVERRIDE does not apply: "
			  "the "
			  "owner or group is not mapped in its namespace"
			: "";

	access_perm_str(want, w);
	access_perm_str(res->entry_perm, p);
	access_perm_str(res->mask_perm, m);
	if (res->sticky) {
		snprintf(buf, len,
			 "sticky directory: only the owner of the entry or of "
			 "the directory may delete or rename it%s",
			 res->cap_unmapped ? "; container root's CAP_FOWNER "
					     "does not apply to an unmapped "
					     "owner"
					   : "");
		return;
	}
	if (!res->err) {
		snprintf(buf, len, "granted (%s)",
			 res->by_cap ? "container root's capabilities"
				     : "permission bits");
		return;
	}
	switch (res->cls) {
	case ACCESS_CLASS_OWNER:
		snprintf(buf, len,
			 "USER is the owner, owner has %s, needs %s%s", p, w,
			 tail);
		break;
	case ACCESS_CLASS_ACL_USER:
		if (res->mask_denied)
			snprintf(buf, len,
				 "ACL mask %s limits named-user entry for "
				 "host uid %u (%s), needs %s%s",
				 m, res->acl_id, p, w, tail);
		else
			snprintf(buf, len,
				 "ACL named-user entry for host uid %u has %s "
				 "(mask %s), needs %s%s",
				 res->acl_id, p, res->has_mask ? m : "none", w,
				 tail);
		break;
	case ACCESS_CLASS_ACL_GROUPS:
		if (res->mask_denied)
			snprintf(buf, len,
				 "ACL mask %s limits the group entry (%s) "
				 "that matches USER's groups, needs %s%s",
				 m, p, w, tail);
		else
			snprintf(buf, len,
				 "no ACL group entry matching USER's groups "
				 "grants %s (other is not consulted)%s",
				 w, tail);
		break;
	case ACCESS_CLASS_GROUP:
		snprintf(buf, len,
			 "USER is in the owning group, group has %s, "
			 "needs %s%s",
			 p, w, tail);
		break;
	case ACCESS_CLASS_OTHER:
	default:
		snprintf(buf, len,
			 "USER is neither owner nor in the group, other has "
			 "%s, needs %s%s",
			 p, w, tail);
		break;
	}
}
