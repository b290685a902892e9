/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Layouts: how a container engine maps container ids to host ids, turned
 * into id maps (disk = container-side id, view = host-side id):
 *
 *   rootless      podman / rootless docker: 0 -> the user, 1.. -> the
 *                 user's subordinate ranges, in file order
 *   userns-remap  docker: 0.. -> the user's subordinate ranges
 *   pid           a live process's /proc/PID/uid_map and gid_map
 *   explicit      DISK:VIEW:COUNT specs
 *
 * and owner mode on top of any of them: the host owner H of the data is
 * shown as the view id the container's USER C has under the layout, and
 * nothing else is mapped.
 *
 * Both shiftctl and the shiftfs daemon build their maps here, so a map is
 * never computed twice in two ways.
 */
#ifndef SHIFT_LAYOUT_H
#define SHIFT_LAYOUT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "diag.h"
#include "idmap.h"

enum layout_kind {
	LAYOUT_NONE = 0,
	LAYOUT_EXPLICIT,
	LAYOUT_ROOTLESS,
	LAYOUT_USERNS_REMAP,
	LAYOUT_PID,
};

struct layout_req {
	enum layout_kind kind;
	/* rootless: host user NAME or UID (NULL: the caller's real uid);
	 * userns-remap: USER[:GROUP] ("default" means dockremap). */
	const char *user;
	pid_t pid;                 /* pid */
	const char *map_spec;      /* explicit: both uid and gid map */
	const char *uid_spec;      /* explicit: uid map (overrides map_spec) */
	const char *gid_spec;      /* explicit: gid map (overrides map_spec) */
	const char *subuid_path;   /* NULL: /etc/subuid */
	const char *subgid_path;   /* NULL: /etc/subgid */

	/* Owner mode: disk owner_uid/gid <-> view of container user_uid/gid. */
	bool owner_mode;
	uint32_t owner_uid, owner_gid;
	uint32_t user_uid, user_gid;

	/*
	 * Overflow ids to show instead of the kernel's (has_overflow_*), for
	 * shiftctl's reports only: a mount shows the kernel's overflow id
	 * (its owner matches nobody), and the shiftfs daemon refuses any other.
	 */
	bool has_overflow_uid, has_overflow_gid;
	uint32_t overflow_uid, overflow_gid;
};

/* Name of a kind as the command line spells it ("rootless", ...). */
const char *layout_kind_name(enum layout_kind kind);

/*
 * Build *out (no initialisation needed) from req. Errors fill d with one
 * line naming the user, file, line or token: -EINVAL (bad spec, no layout),
 * -ENOENT (no such user, no subuid entry, no such process), -ERANGE,
 * -EOVERFLOW (owner mode: the container user has no host id in the layout),
 * or -errno from reading a file.
 */
int layout_build(const struct layout_req *req, struct idmaps *out,
		 struct shift_diag *d);

#endif
