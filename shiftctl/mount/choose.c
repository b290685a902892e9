/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Which backend mounts, and why: --backend=idmap or fuse as asked;
 * auto tries the kernel's idmapped mount (root, no FUSE-only -o option, the
 * setuid-source rule met) and falls back to the FUSE daemon when the
 * kernel, the privilege or the filesystem cannot (idmount_unsupported),
 * saying why in r->why. Not root, the idmapped mount is made by
 * shiftfs-idmap-helper when it is installed (backend_helper.c), which
 * applies its own rule (every id of the map the caller's own); auto falls
 * back to FUSE on its refusal, saying it. Failures of the asked-for
 * backend die().
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "idmount.h"
#include "mount_int.h"
#include "mounts.h"
#include "shiftctl.h"

/* Try the kernel; returns false (with r->why) when auto should fall back. */
/* Dies: the asked-for idmapped mount refused or failed. */
static bool mount_idmap(const struct mount_opts *o, struct mount_result *r,
			const struct idmaps *m)
{
	struct idmount_opts io = {o->read_only, o->suid, o->dev, false,
				  false, NULL, NULL};
	struct shift_diag d = {""};
	enum idmount_stage stage;
	char why[256];
	int fd;

	if (idmap_suid_refused(o, r, m, why, sizeof(why))) {
		if (o->backend == BACKEND_AUTO) {
			snprintf(r->why, sizeof(r->why),
				 "no idmapped mount: %s (the FUSE daemon "
				 "refuses those; --allow-suid-src overrides)",
				 why);
			return false;
		}
		die(EXIT_FAIL,
		    "refusing an idmapped mount of %s: %s (mount SRC nosuid, "
		    "keep it under a directory only root can enter, use "
		    "--backend=fuse, or pass --allow-suid-src)",
		    r->src, why);
	}
	fd = idmount_mount(r->src_fd, r->src, r->mnt_fd, r->mnt, m, &io, &stage,
			   &d);
	if (fd >= 0) {
		mnt_id_at(fd, "", &r->mnt_id, &r->mnt_uniq);
		close(fd);
		snprintf(r->why, sizeof(r->why),
			 "kernel idmapped mount: zero overhead");
		return true;
	}
	if (o->backend == BACKEND_AUTO &&
	    idmount_unsupported(stage, -fd, why, sizeof(why))) {
		snprintf(r->why, sizeof(r->why), "no idmapped mount: %s (%s)",
			 why, d.msg);
		return false;
	}
	die(EXIT_FAIL, "idmapped mount of %s at %s failed: %s", r->src, r->mnt,
	    d.msg);
}

/* The one place that says what an idmapped mount needs: root, or (not
 * root) shiftfs-idmap-helper installed; a helper that is there and
 * refuses says why itself (mount_via_helper). */
/* Dies: --backend=idmap without the privilege for it. */
static void idmap_privilege(const struct mount_result *r)
{
	if (geteuid() == 0 || helper_installed())
		return;
	die(EXIT_FAIL,
	    "--backend=idmap needs root or shiftfs-idmap-helper(8): idmapped "
	    "mounts need CAP_SYS_ADMIN, and %s is not installed "
	    "(--backend=fuse mounts %s with the shiftfs daemon)",
	    helper_path(), r->src);
}

/* Not root: the helper, or why not (false: auto falls back to FUSE). */
/* Dies: --backend=idmap and the helper is missing, refuses or fails. */
static bool mount_via_helper(const struct mount_opts *o,
			     struct mount_result *r, const struct idmaps *m)
{
	char msg[400];
	int err;

	if (!helper_installed()) {
		/* --backend=idmap died in idmap_privilege(). */
		snprintf(r->why, sizeof(r->why),
			 "not root: idmapped mounts need CAP_SYS_ADMIN, and "
			 "shiftfs-idmap-helper is not installed");
		return false;
	}
	if (o->suid || o->dev) {
		if (o->backend == BACKEND_IDMAP)
			die(EXIT_FAIL,
			    "idmapped mount of %s at %s failed: -o %s: "
			    "shiftfs-idmap-helper mounts nosuid,nodev only",
			    r->src, r->mnt, o->suid ? "suid" : "dev");
		snprintf(r->why, sizeof(r->why),
			 "-o %s: shiftfs-idmap-helper mounts nosuid,nodev only",
			 o->suid ? "suid" : "dev");
		return false;
	}
	err = mount_helper(o, r, m, msg, sizeof(msg));
	if (err == 0) {
		r->via_helper = true;
		snprintf(r->why, sizeof(r->why),
			 "via shiftfs-idmap-helper: kernel idmapped mount, "
			 "zero overhead");
		return true;
	}
	if (err != -EPERM)
		snprintf(msg, sizeof(msg), "cannot run %s: %s", helper_path(),
			 strerror(-err));
	if (o->backend == BACKEND_IDMAP)
		die(EXIT_FAIL, "idmapped mount of %s at %s failed: "
		    "shiftfs-idmap-helper: %s", r->src, r->mnt, msg);
	snprintf(r->why, sizeof(r->why), "shiftfs-idmap-helper: %s", msg);
	return false;
}

enum backend choose_and_mount(const struct mount_opts *o,
			      struct mount_result *r, const struct idmaps *m)
{
	if (o->backend == BACKEND_IDMAP)
		idmap_privilege(r);
	if (o->backend == BACKEND_AUTO && o->fuse_only) {
		snprintf(r->why, sizeof(r->why), "-o %s needs the FUSE backend",
			 o->fuse_only);
	} else if (o->backend != BACKEND_FUSE && geteuid() != 0) {
		if (mount_via_helper(o, r, m))
			return BACKEND_IDMAP;
	} else if (o->backend != BACKEND_FUSE) {
		if (mount_idmap(o, r, m))
			return BACKEND_IDMAP;
	} else {
		snprintf(r->why, sizeof(r->why), "--backend=fuse");
	}
	mount_fuse(o, r, m);
	return BACKEND_FUSE;
}
