/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kernel idmapped mount (Linux >= 5.12), for shiftctl's mount engine
 * and shiftfs-idmap-helper. No daemon; the kernel translates owners at zero run-time cost.
 * Needs CAP_SYS_ADMIN in the initial user namespace and a source filesystem
 * that supports idmapping (ext4, xfs, btrfs, tmpfs >= 6.3, ...; not FUSE,
 * proc).
 */
#ifndef SHIFT_IDMOUNT_H
#define SHIFT_IDMOUNT_H

#include <stdbool.h>

#include "diag.h"
#include "idmap.h"

/* Where an idmapped mount failed, so that --backend=auto can decide. */
enum idmount_stage {
	IDMOUNT_USERNS,	 /* creating the user namespace that carries the map */
	IDMOUNT_OPEN,	 /* open_tree(OPEN_TREE_CLONE) of SRC */
	IDMOUNT_SETATTR, /* mount_setattr(MOUNT_ATTR_IDMAP) */
	IDMOUNT_MOVE,	 /* move_mount() onto MNT */
};

struct idmount_opts {
	bool read_only;
	bool suid, dev; /* default nosuid,nodev, like the FUSE backend */
	/* SRC's mount only, not its submounts (no AT_RECURSIVE): the
	 * helper's choice, the submounts may not be the caller's */
	bool single;
	/* Made private before it is attached: no mount or unmount event
	 * propagates between the new mount and SRC's mount (the helper: a
	 * peer of SRC would carry the caller's mounts into SRC's tree, and
	 * a lazy unmount of it would take down others' mounts below SRC). */
	bool private_prop;
	/* Called with the detached, fully set up tree right before
	 * move_mount (the helper records the mount first); nonzero aborts
	 * with that -errno at IDMOUNT_MOVE. */
	int (*before_move)(int tree, void *ctx);
	void *ctx;
};

/*
 * A user namespace whose uid_map/gid_map are m's ranges as "DISK VIEW COUNT"
 * lines (inside = disk id, outside = view id: for an idmapped mount the
 * inside id is the on-disk id). Returns an O_CLOEXEC fd or -errno (d
 * filled). setgroups is denied in it. Needs CAP_SETUID/CAP_SETGID, and
 * write access to the child's /proc/PID/uid_map (owned by root when the
 * caller is not dumpable: the helper sets fsuid 0 around this call).
 */
int idmount_userns_fd(const struct idmaps *m, struct shift_diag *d);

/*
 * Mount the directory src_fd (an O_PATH fd, checked by the caller) onto
 * the directory mnt_fd, recursively unless o->single (SRC's submounts too,
 * like the FUSE backend, which crosses into them), with owners shifted through m: by fd
 * (open_tree(AT_EMPTY_PATH), move_mount(MOVE_MOUNT_T_EMPTY_PATH)), so no
 * path is resolved again. src and mnt only name them in messages.
 * Returns an O_CLOEXEC fd of the new mount's root (for its mount id), or
 * -errno with *stage and d saying which step failed.
 */
int idmount_mount(int src_fd, const char *src, int mnt_fd, const char *mnt,
		  const struct idmaps *m, const struct idmount_opts *o,
		  enum idmount_stage *stage, struct shift_diag *d);

/*
 * Whether -err at stage means "this kernel, privilege or filesystem cannot
 * do idmapped mounts" (ENOSYS, EPERM, EINVAL, EOPNOTSUPP ...), so that
 * --backend=auto falls back to FUSE; a short reason is put in why.
 */
bool idmount_unsupported(enum idmount_stage stage, int err, char *why,
			 size_t len);

#endif
