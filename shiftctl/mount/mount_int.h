/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Inside the mount engine only: what its files call of each other. The
 * verbs include mount.h.
 */
#ifndef SHIFTCTL_MOUNT_INT_H
#define SHIFTCTL_MOUNT_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "idmap.h"
#include "mount.h"

/* Add a message to w (format(printf); one past MOUNT_WARN_MAX is dropped). */
void mount_warn(struct mount_warnings *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* safety.c: decisions. Dies (EXIT_USAGE) on an overflow id other than
 * the kernel's. */
void check_overflow(const struct idmaps *m);
/* The allow_other and reachability warnings, into r->warnings. */
void safety_warning(const struct mount_opts *o, struct mount_result *r,
		    const struct idmaps *m);
/* The unprivileged FUSE mount only the caller can use: r->notes. */
void rootless_notes(const struct mount_opts *o, struct mount_result *r,
		    enum backend b);

/*
 * suid_src.c: the idmap setuid-source rule (docs/SECURITY.md, rule 5):
 * true (and why) when an idmapped mount of r->src_fd through m is refused.
 */
bool idmap_suid_refused(const struct mount_opts *o,
			const struct mount_result *r, const struct idmaps *m,
			char *why, size_t len);

/* choose.c: mount with the backend o->backend asks for or auto picks,
 * r->why saying why. Dies on failure. */
enum backend choose_and_mount(const struct mount_opts *o,
			      struct mount_result *r, const struct idmaps *m);

/* backend_fuse.c: the shiftfs daemon's mount (fills r->pid, r->log,
 * r->mnt_id, r->auto_allow_other). Dies on failure. */
void mount_fuse(const struct mount_opts *o, struct mount_result *r,
		const struct idmaps *m);

/*
 * backend_helper.c: shiftfs-idmap-helper, the idmap backend for ordinary
 * users. helper_path() is the compiled-in path (SHIFTCTL_IDMAP_HELPER
 * instead, for the test suite, when not root). mount_helper() runs it for
 * r->src, r->mnt and m (fills r->mnt_id): 0, -EPERM (the helper refused
 * or failed: its message in msg) or -errno (it could not be run).
 * umount_helper() has it unmount mnt, the same way.
 */
const char *helper_path(void);
bool helper_installed(void);
int helper_run(char *const argv[], char *msg, size_t len);
int mount_helper(const struct mount_opts *o, struct mount_result *r,
		 const struct idmaps *m, char *msg, size_t len);
int umount_helper(const char *mnt, bool lazy, char *msg, size_t len);

#endif
