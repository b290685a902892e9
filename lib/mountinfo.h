/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * /proc/self/mountinfo, mount ids and the checked unmount: what shiftctl's
 * mount engine and shiftfs-idmap-helper both need to know what is mounted
 * where. Functions return 0 or -errno.
 */
#ifndef SHIFT_MOUNTINFO_H
#define SHIFT_MOUNTINFO_H

#include <limits.h>
#include <stdbool.h>

/* The fstype a shiftfs daemon's mount shows in mountinfo. */
#define SHIFTFS_FSTYPE "fuse.shiftfs"

struct mnt_entry {
	int id, parent;
	unsigned int major, minor; /* st_dev of the filesystem */
	char root[PATH_MAX];	   /* root of the mount within its filesystem */
	char target[PATH_MAX];	   /* mount point, unescaped */
	char opts[512]; /* per-mount options ("rw,nosuid,idmapped") */
	char fstype[64];
	char source[PATH_MAX]; /* unescaped */
	/* superblock options, unescaped ("lowerdir=...,upperdir=..." for an
	 * overlay); super_cut when the line held more than fits */
	char super[8192];
	bool super_cut;
};

/* Called per mountinfo line in file order; return non-zero to stop. */
typedef int (*mnt_visit_fn)(const struct mnt_entry *e, void *ctx);

/* Walk /proc/self/mountinfo. Returns the callback's non-zero value, 0 at the
 * end, or -errno when mountinfo cannot be read. */
int mnt_foreach(mnt_visit_fn fn, void *ctx);

/* The topmost (last-mounted) mount whose mount point is path (absolute,
 * canonical). Returns 0 and fills *out, -ENOENT when nothing is mounted
 * there, or -errno. */
int mnt_find(const char *path, struct mnt_entry *out);

/* true when the comma-separated option list opts contains opt exactly. */
bool mnt_opt_has(const char *opts, const char *opt);

/* true when e is an idmapped mount (mountinfo shows "idmapped"). */
bool mnt_is_idmapped(const struct mnt_entry *e);

/*
 * Paths resolved once, to fds: a privileged command checks what an fd
 * refers to and acts on that fd, never on a path string resolved again
 * later, which another user could have redirected in between.
 *
 * The mount id (as in mountinfo) and, where the kernel has it (6.8+), the
 * unique 64-bit mount id (else 0) of the mount holding name under dirfd
 * ("" and dirfd: the fd itself). Symlinks are not followed and FUSE is
 * not asked (a dead daemon does not matter). 0 or -errno.
 */
int mnt_id_at(int dirfd, const char *name, int *id, unsigned long long *uniq);

/* The mount id alone, as mnt_id_at() finds it (one statx). */
int mnt_plain_id_at(int dirfd, const char *name, int *id);

/*
 * Is the mount whose unique id (statx STATX_MNT_ID_UNIQUE) is uniq still
 * there, in this mount namespace, with mount id id? 1 (and *idmapped says
 * whether it is an idmapped mount), 0 when that mount is gone (a mount id
 * reused since by another mount is not it), -ENOSYS when the kernel
 * cannot say (no statmount(2), before 6.8; or uniq 0), -errno.
 */
int mnt_alive(int id, unsigned long long uniq, bool *idmapped);

/* The mountinfo entry with mount id id: 0, -ENOENT or -errno. */
int mnt_by_id(int id, struct mnt_entry *out);

/*
 * The absolute path's parent opened with fdpath_open(O_DIRECTORY) into
 * *pfd, *name pointing at its last component in path, and the mount ids
 * of that name (mnt_id_at). 0, -ENAMETOOLONG, -EINVAL (not absolute, "/",
 * or a last component "." or ".."), fdpath_open()'s -ELOOP / -ESTALE, or
 * -errno. *pfd is the caller's to close whenever it is >= 0.
 */
int mnt_id_of_path(const char *path, int *pfd, const char **name, int *id,
		   unsigned long long *uniq);

/*
 * Unmount the mount with id id whose mount point is target (canonical):
 * target's parent is opened with fdpath_open(), the mount id of the
 * name under it is checked, and umount2 acts on that very name through
 * the parent fd (/proc/self/fd/N/NAME, UMOUNT_NOFOLLOW), so that a rename
 * or symlink swapped in on target's path cannot redirect it (a mount point
 * itself cannot be renamed or removed while mounted). flags: 0 or
 * MNT_DETACH. 0, -ESTALE (something else is mounted there now), -errno.
 */
int umount_checked(const char *target, int id, int flags);

#endif
