/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Access verdicts: the kernel's permission rules (fs/namei.c
 * generic_permission(), acl_permission_check(), fs/posix_acl.c
 * posix_acl_permission(), check_sticky(), may_delete(),
 * capable_wrt_inode_uidgid()) as pure functions on plain data, so that a
 * verdict can be computed for a process that does not exist yet: a
 * container's USER under an id map.
 *
 * Every id here is a host (kernel, "view") id: the caller translates the
 * container's USER and groups through the map first. A file's owner that the
 * container's map does not cover still has a host id; it simply never equals
 * a caller's id. An owner, group or ACL entry that a shifted view cannot
 * map at all (shown as the overflow id) is ACCESS_ID_INVALID: like the
 * kernel's invalid kuid on an idmapped mount it matches no caller -- not
 * real uid 65534, not root -- and no capability applies over it.
 *
 * No allocation, no I/O, no globals: thread-safe.
 */
#ifndef SHIFT_ACCESS_H
#define SHIFT_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "idmap.h"

/* The kernel's MAY_EXEC, MAY_WRITE, MAY_READ. */
#define ACCESS_X 1u
#define ACCESS_W 2u
#define ACCESS_R 4u

/* ACL entry tags, the values of <sys/acl.h> and <linux/posix_acl.h>. */
#define ACCESS_ACL_USER_OBJ 0x01
#define ACCESS_ACL_USER 0x02
#define ACCESS_ACL_GROUP_OBJ 0x04
#define ACCESS_ACL_GROUP 0x08
#define ACCESS_ACL_MASK 0x10
#define ACCESS_ACL_OTHER 0x20

/* An unmapped (invalid) owner, group or ACL qualifier: matches nobody. */
#define ACCESS_ID_INVALID UINT32_MAX

struct access_acl_entry {
	uint16_t tag;
	uint16_t perm; /* ACCESS_R | ACCESS_W | ACCESS_X */
	uint32_t id;   /* host id, ACL_USER and ACL_GROUP only */
};

struct access_inode {
	uint32_t uid, gid; /* host ids, or ACCESS_ID_INVALID */
	uint32_t mode;	   /* st_mode, type bits included */
	/* The access ACL in the kernel's order (user_obj, users, group_obj,
	 * groups, mask, other), or NULL when the inode has none. */
	const struct access_acl_entry *acl;
	size_t acl_n;
};

struct access_cred {
	uint32_t uid, gid;	/* host fsuid and fsgid */
	const uint32_t *groups; /* host supplementary gids */
	size_t ngroups;
	/* Uid 0 in its user namespace: CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
	 * and CAP_FOWNER there, which count only for inodes whose owner and
	 * group both have a mapping in ns (privileged_wrt_inode_uidgid()). */
	bool ns_root;
	const struct idmaps *ns; /* disk = namespace id, view = host id */
};

/* Which rule decided a permission check. */
enum access_class {
	ACCESS_CLASS_OWNER,	 /* the owner's mode bits (ACL_USER_OBJ) */
	ACCESS_CLASS_ACL_USER,	 /* a named-user ACL entry */
	ACCESS_CLASS_GROUP,	 /* owning group: mode bits, no ACL */
	ACCESS_CLASS_ACL_GROUPS, /* owning group / named groups of an ACL */
	ACCESS_CLASS_OTHER,	 /* other bits */
};

struct access_result {
	int err;	       /* 0, -EACCES or -EPERM */
	enum access_class cls; /* the class that decided */
	bool by_cap;	       /* granted only by CAP_DAC_* (ns root) */
	/* Denied, but ns root would have overridden it were the inode's
	 * owner and group both mapped in its namespace. */
	bool cap_unmapped;
	/* Denied by the ACL mask: the matching entry alone would grant. */
	bool mask_denied;
	uint16_t entry_perm; /* perm of the deciding class/entry */
	uint16_t mask_perm;  /* the mask, when an ACL has one */
	bool has_mask;
	uint32_t acl_id; /* the named user of ACL_USER */
	bool sticky;	 /* access_may_delete: refused by sticky */
};

/* in_group_p(): fsgid or one of the supplementary groups (never for
 * ACCESS_ID_INVALID). */
bool access_in_group(const struct access_cred *c, uint32_t gid);

/* privileged_wrt_inode_uidgid(): owner and group both valid and mapped in
 * c->ns. */
bool access_inode_mapped(const struct access_cred *c,
			 const struct access_inode *ino);

/*
 * inode_permission() for want (a mix of ACCESS_R/W/X) on one inode, as
 * generic_permission() decides it: owner, then ACL named users, then
 * groups (owning and named, any match granting, the mask applying), then
 * other; then the namespace root's capabilities. Mount flags (read-only,
 * noexec) and immutable bits are the caller's business.
 * Returns 0 or -EACCES; fills *res (may be NULL).
 */
int access_permission(const struct access_inode *ino,
		      const struct access_cred *c, unsigned want,
		      struct access_result *res);

/*
 * may_delete() for unlinking or renaming away child from dir: write and
 * search on dir (-EACCES), then the sticky bit: with S_ISVTX on dir only
 * the owner of child or of dir, or ns root with CAP_FOWNER over a mapped
 * child, may (-EPERM).
 */
int access_may_delete(const struct access_inode *dir,
		      const struct access_inode *child,
		      const struct access_cred *c, struct access_result *res);

/* "rwx" style text of perm bits into buf (4 bytes). */
const char *access_perm_str(unsigned perm, char buf[4]);

/* A short human reason for a result, e.g. "ACL mask r-- limits named user
 * 1000 (rw-)". want is what was asked. */
void access_explain(const struct access_result *res, unsigned want, char *buf,
		    size_t len);

#endif
