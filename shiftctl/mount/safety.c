/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shiftctl mount's decisions that are not the setuid-source rule
 * (suid_src.c): the overflow id a view must keep, and the warnings that a
 * map hands host root's files, or allow_other every host user, at a mount
 * point others can reach. Warnings are returned as text (mount_warn), for
 * the verb to print.
 */
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mount_int.h"
#include "shiftctl.h"

void mount_warn(struct mount_warnings *w, const char *fmt, ...)
{
	va_list ap;

	if (w->n == MOUNT_WARN_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(w->msg[w->n++], sizeof(w->msg[0]), fmt, ap);
	va_end(ap);
}

/* A host account (not root) among view uids [v, v + count): its name. */
static bool host_user_in(uint32_t v, uint32_t count, char *name, size_t len,
			 uint32_t *uid)
{
	struct passwd *pw;
	bool found = false;

	setpwent();
	while ((pw = getpwent())) {
		if (pw->pw_uid == 0 || pw->pw_uid < v ||
		    pw->pw_uid - v >= count)
			continue;
		snprintf(name, len, "%s", pw->pw_name);
		*uid = pw->pw_uid;
		found = true;
		break;
	}
	endpwent();
	return found;
}

/*
 * The map is risky when it shows host root's files (disk uid 0) as owned by
 * another uid, or shifts any disk id onto the uid of a host account: that
 * account could then change files that are not its own through the mount.
 */
static bool risky_map(const struct idmaps *m, char *what, size_t len)
{
	uint32_t view, uid, i;
	char name[64];

	if (idmap_to_view(&m->uid, 0, &view) == 0 && view != 0) {
		snprintf(what, len,
			 "host root's files (uid 0) as owned by "
			 "uid %u",
			 view);
		return true;
	}
	for (i = 0; i < m->uid.n; i++) {
		const struct idmap_range *r = &m->uid.r[i];

		if (r->disk == r->view)
			continue;
		if (host_user_in(r->view, r->count, name, sizeof(name), &uid)) {
			snprintf(what, len,
				 "uid %u's files as owned by host "
				 "user %s (uid %u)",
				 r->disk + (uid - r->view), name, uid);
			return true;
		}
	}
	return false;
}

/* Can other users get to MNT? No, if some ancestor (or SRC's root, which
 * becomes MNT's root) is not searchable by others. */
static bool reachable_by_others(const char *mnt, const char *src)
{
	char buf[PATH_MAX];
	struct stat st;
	char *slash;

	if (stat(src, &st) == 0 && !(st.st_mode & S_IXOTH))
		return false;
	snprintf(buf, sizeof(buf), "%s", mnt);
	while ((slash = strrchr(buf, '/'))) {
		if (slash == buf)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (stat(buf, &st) == 0 && !(st.st_mode & S_IXOTH))
			return false;
		if (slash == buf)
			break;
	}
	return true;
}

void safety_warning(const struct mount_opts *o, struct mount_result *r,
		    const struct idmaps *m)
{
	char what[160];

	if (geteuid() != 0 && !o->private_dir &&
	    (o->allow_other || r->auto_allow_other) &&
	    reachable_by_others(r->mnt, r->src))
		mount_warn(&r->warnings,
			   "allow_other is on%s: every host user who can reach "
			   "%s can use it, with the permissions it shows, even "
			   "for data behind your 0700 home; --private mounts "
			   "it where only you and the container's bind mount "
			   "reach it",
			   r->auto_allow_other ? " (user_allow_other in "
						 "/etc/fuse.conf)"
					       : "",
			   r->mnt);

	/* Unprivileged, the daemon cannot give anyone more than the caller
	 * has, so only a privileged mount can hand out root's files. */
	if (geteuid() != 0 || o->private_dir ||
	    !risky_map(m, what, sizeof(what)))
		return;
	if (!reachable_by_others(r->mnt, r->src))
		return;
	mount_warn(&r->warnings,
		   "this map shows %s, and %s is reachable by other host "
		   "users; use --private to mount under a 0700 directory",
		   what, r->mnt);
}

/*
 * An unmapped owner is shown as the kernel's own overflow id by both
 * backends and matches nobody; showing it as any other id N would hand it
 * to N's holder, so the view cannot take --overflow-uid/--overflow-gid.
 */
/* Dies: an overflow id other than the kernel's (usage). */
void check_overflow(const struct idmaps *m)
{
	struct idmaps k;

	idmaps_init(&k);
	if (m->overflow_uid != k.overflow_uid)
		die(EXIT_USAGE, "--overflow-uid=%u: a mount shows unmapped "
		    "owners as the kernel's overflow uid %u (another id would "
		    "be matched by its holder)", m->overflow_uid,
		    k.overflow_uid);
	if (m->overflow_gid != k.overflow_gid)
		die(EXIT_USAGE, "--overflow-gid=%u: a mount shows unmapped "
		    "groups as the kernel's overflow gid %u (another id would "
		    "be matched by its holder)", m->overflow_gid,
		    k.overflow_gid);
}

/* Unprivileged FUSE without allow_other: only the caller's uid can use the
 * mount, which a container whose ids are not the caller's cannot. */
void rootless_notes(const struct mount_opts *o, struct mount_result *r,
		    enum backend b)
{
	if (b != BACKEND_FUSE || geteuid() == 0 || o->allow_other ||
	    r->auto_allow_other)
		return;
	mount_warn(&r->notes,
		   "only uid %u can use %s: for a container uid other than "
		   "yours to see it, add user_allow_other to /etc/fuse.conf "
		   "(then shiftctl passes allow_other)",
		   (unsigned)geteuid(), r->mnt);
}
