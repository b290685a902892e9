/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Private to the mount engine: the kernel idmapped-mount backend (Linux
 * >= 5.12). No daemon; the kernel translates owners at zero run-time cost.
 * Needs CAP_SYS_ADMIN in the initial user namespace and a source filesystem
 * that supports idmapping (ext4, xfs, btrfs, tmpfs >= 6.3, ...; not FUSE,
 * proc).
 */
#ifndef SHIFTCTL_IDMOUNT_H
#define SHIFTCTL_IDMOUNT_H

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
};

/*
 * A user namespace whose uid_map/gid_map are m's ranges as "DISK VIEW COUNT"
 * lines (inside = disk id, outside = view id: for an idmapped mount the
 * inside id is the on-disk id). Returns an O_CLOEXEC fd or -errno (d
 * filled). setgroups is denied in it. Needs CAP_SETUID/CAP_SETGID.
 */
int idmount_userns_fd(const struct idmaps *m, struct shift_diag *d);

/*
 * Mount the directory src_fd (an O_PATH fd, checked by the caller) onto
 * the directory mnt_fd, recursively (SRC's submounts too, like the FUSE
 * backend, which crosses into them), with owners shifted through m: by fd
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
