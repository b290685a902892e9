/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shiftctl mount's SRC and MNT, resolved once to O_PATH fds: realpath(3),
 * then fdpath_open() (openat2 RESOLVE_NO_SYMLINKS) of the result, whose
 * path must still be the resolved one. The refusal checks (system paths
 * from syspath, home directories, overlap) use those paths; --mkdir and
 * --private create MNT with mkdirat in its checked parent, after them.
 * Refusals die(): they end the command, with the message the user sees.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/acl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "mount_int.h"
#include "mounts.h"
#include "shiftctl.h"
#include "syspath.h"

static bool inside(const char *a, const char *b)
{
	size_t n = strlen(b);

	if (!strcmp(b, "/"))
		return true;
	return !strncmp(a, b, n) && (a[n] == '/' || a[n] == '\0');
}

/* syspath_why(), and a home directory named through a symlink (pw_dir
 * /home/alice with /home -> /data/home: real is /data/home/alice). */
static const char *refused(const char *real)
{
	static char why[PATH_MAX + 64];
	const char *sys = syspath_why(real);
	char home[PATH_MAX];
	struct passwd *pw;

	if (sys)
		return sys;
	setpwent();
	while ((pw = getpwent())) {
		if (!pw->pw_dir || pw->pw_dir[0] != '/' ||
		    !realpath(pw->pw_dir, home) || strcmp(home, real))
			continue;
		snprintf(why, sizeof(why), "the home directory of %s",
			 pw->pw_name);
		sys = why;
		break;
	}
	endpwent();
	return sys;
}

/* Dies: a refused SRC or MNT, or overlap. */
static void check_paths(const struct mount_opts *o,
			const struct mount_result *r)
{
	const char *why;

	if (o->force)
		return;
	why = refused(r->src);
	if (why)
		die(EXIT_FAIL,
		    "refusing to mount from %s: it is %s (--force "
		    "overrides)",
		    r->src, why);
	/* --private mount points are ours, under /run/shiftfs as root. */
	why = o->private_dir ? NULL : refused(r->mnt);
	if (why)
		die(EXIT_FAIL,
		    "refusing to mount onto %s: it is %s (--force "
		    "overrides)",
		    r->mnt, why);
	if (inside(r->src, r->mnt) || inside(r->mnt, r->src))
		die(EXIT_FAIL,
		    "refusing to mount: SRC %s and MNT %s overlap "
		    "(one is inside the other; --force overrides)",
		    r->src, r->mnt);
}

/*
 * As root for the rootless layout of uid: /run/shiftfs/private-uid-UID,
 * root's, mode 0700 with one ACL entry, search (x) for uid: that user's
 * rootless engine resolves the bind mount's source path with its own
 * rights, and nobody else (not even the container's subordinate ids)
 * gets past the directory. /run/shiftfs itself must be searchable.
 */
/* Dies: the directory cannot be made so. */
static void private_base_for(uid_t uid, char *buf, size_t len)
{
	_cleanup_close_ int fd = -1;
	char text[96];
	struct stat st;
	acl_t acl;

	if (mkdir("/run/shiftfs", 0755) < 0 && errno != EEXIST)
		die(EXIT_FAIL, "mkdir /run/shiftfs: %s", strerror(errno));
	fd = open("/run/shiftfs",
		  O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		die(EXIT_FAIL, "/run/shiftfs: %s", strerror(errno));
	if (st.st_uid != 0 || (st.st_mode & 022))
		die(EXIT_FAIL, "/run/shiftfs is not root's (or is writable by "
			       "others): refusing --private");
	if ((st.st_mode & 0111) != 0111 && fchmod(fd, 0755) < 0)
		die(EXIT_FAIL, "chmod 0755 /run/shiftfs: %s", strerror(errno));
	close(fd);
	snprintf(buf, len, "/run/shiftfs/private-uid-%u", (unsigned)uid);
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		die(EXIT_FAIL, "mkdir %s: %s", buf, strerror(errno));
	fd = open(buf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		die(EXIT_FAIL, "%s: %s", buf, strerror(errno));
	if (st.st_uid != 0 || st.st_gid != 0)
		die(EXIT_FAIL, "%s is not a directory owned by root", buf);
	if (fchmod(fd, 0700) < 0)
		die(EXIT_FAIL, "chmod 0700 %s: %s", buf, strerror(errno));
	snprintf(text, sizeof(text), "u::rwx,u:%u:--x,g::---,m::--x,o::---",
		 (unsigned)uid);
	acl = acl_from_text(text);
	if (!acl || acl_set_fd(fd, acl) < 0)
		die(EXIT_FAIL,
		    "--private: cannot let uid %u (and only it) reach %s: "
		    "setting its ACL: %s",
		    (unsigned)uid, buf, strerror(errno));
	acl_free(acl);
}

/* Where --private mount points live: a 0700 directory of ours. */
/* Dies: --private's directory cannot be made ours. */
static void private_base(const struct mount_opts *o, char *buf, size_t len)
{
	char parent[PATH_MAX];
	struct stat st;
	int r;

	if (geteuid() == 0 && o->private_uid > 0) {
		private_base_for((uid_t)o->private_uid, buf, len);
		return;
	}
	r = runtime_dir(parent, sizeof(parent), true);
	if (r < 0 && runtime_dir_msg()[0])
		die(EXIT_FAIL, "--private: %s", runtime_dir_msg());
	if (r < 0)
		die(EXIT_FAIL, "--private: %s", strerror(-r));
	if (mkdir(parent, 0755) < 0 && errno != EEXIST)
		die(EXIT_FAIL, "mkdir %s: %s", parent, strerror(errno));
	if ((size_t)snprintf(buf, len, "%.*s/private", PATH_MAX - 16, parent) >=
	    len)
		die(EXIT_FAIL, "%s: path too long", parent);
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		die(EXIT_FAIL, "mkdir %s: %s", buf, strerror(errno));
	if (lstat(buf, &st) < 0)
		die(EXIT_FAIL, "%s: %s", buf, strerror(errno));
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid())
		die(EXIT_FAIL, "%s is not a directory owned by uid %u", buf,
		    (unsigned)geteuid());
	if ((st.st_mode & 07777) != 0700 && chmod(buf, 0700) < 0)
		die(EXIT_FAIL, "chmod 0700 %s: %s", buf, strerror(errno));
}

/* Dies: a path changed while it was being resolved. */
static noreturn void changed(const char *what, const char *arg)
{
	die(EXIT_FAIL,
	    "%s %s changed while it was being resolved (a symlink or a "
	    "rename on its path): refusing to mount",
	    what, arg);
}

/* realpath(arg) into real, and an O_PATH fd of exactly that directory. */
/* Dies: a path that cannot be resolved or opened. */
static int resolve_dir(const char *what, const char *arg, char *real)
{
	int fd;

	if (!realpath(arg, real))
		die(EXIT_FAIL, "%s %s: %s", what, arg, strerror(errno));
	fd = fdpath_open(real, O_DIRECTORY);
	if (fd == -ENOTDIR)
		die(EXIT_FAIL, "%s %s is not a directory", what, arg);
	if (fd == -ELOOP || fd == -ESTALE || fd == -ENOENT)
		changed(what, arg);
	if (fd < 0)
		die(EXIT_FAIL, "%s %s: %s", what, arg, strerror(-fd));
	return fd;
}

/*
 * Open the next component name of MNT under pfd, creating it first (mode
 * 0755, as the caller: mkdirat in the directory fd, never by path); so far
 * is the path up to and including name, for messages. A name that existed
 * already (made by someone else since the walk looked) is only gone
 * through when it is a directory of the caller's or root's, not a symlink.
 * Returns the O_PATH fd of name.
 */
/* Dies: name cannot be made or is not such a directory. */
static int mkdir_one(int pfd, const char *name, const char *so_far, bool last)
{
	struct stat st;
	bool made = true;
	int fd;

	if (mkdirat(pfd, name, 0755) < 0) {
		if (errno != EEXIST)
			die(EXIT_FAIL, "mkdir %s: %s", so_far, strerror(errno));
		made = false;
	}
	fd = openat(pfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && (errno == ENOTDIR || errno == ELOOP))
		die(EXIT_FAIL, "%s %s is not a directory",
		    last ? "MNT" : "MNT's parent", so_far);
	if (fd < 0)
		die(EXIT_FAIL, "%s: %s", so_far, strerror(errno));
	if (!made && !last &&
	    (fstat(fd, &st) < 0 || (st.st_uid != geteuid() && st.st_uid != 0)))
		changed("MNT", so_far);
	return fd;
}

/*
 * Create the directory want and its missing parents (mkdir -p, mode 0755,
 * owned by the caller) and return its fd, r->mnt its canonical path. The
 * deepest ancestor that exists is resolved and checked like any path
 * (resolve_dir()); each missing component is then made with mkdirat in
 * its parent's fd and opened O_NOFOLLOW from it, so that no symlink is
 * followed and no name is looked up again from the root. The system-path
 * check is made on the final path before anything is created, so that a
 * refused MNT is not created either.
 */
/* Dies: MNT cannot be made, or is refused. */
static int make_mnt(const struct mount_opts *o, struct mount_result *r,
		    const char *want)
{
	_cleanup_free_ char *anc = NULL;
	_cleanup_close_ int pfd = -1;
	char parent[PATH_MAX], now[PATH_MAX], cwd[PATH_MAX];
	const char *why, *tail[PATH_MAX / 2];
	size_t ntail = 0, i, len;
	char *slash;

	if (want[0] == '/')
		anc = strdup(want);
	else if (!getcwd(cwd, sizeof(cwd)))
		die(EXIT_FAIL, "MNT %s: the current directory: %s", want,
		    strerror(errno));
	else if (asprintf(&anc, "%s/%s", cwd, want) < 0)
		anc = NULL;
	if (!anc)
		die(EXIT_FAIL, "out of memory");
	/* Peel off components until what is left exists. */
	for (;;) {
		len = strlen(anc);
		while (len > 1 && anc[len - 1] == '/')
			anc[--len] = '\0';
		if (realpath(anc, parent))
			break;
		if (errno != ENOENT)
			die(EXIT_FAIL, "MNT's parent %s: %s", anc,
			    strerror(errno));
		slash = strrchr(anc, '/');
		if (!slash || ntail == sizeof(tail) / sizeof(tail[0]))
			die(EXIT_FAIL, "MNT %s: path too long", want);
		*slash = '\0';
		if (strcmp(slash + 1, ".") && slash[1])
			tail[ntail++] = slash + 1;
		if (!strcmp(slash + 1, ".."))
			die(EXIT_FAIL,
			    "MNT %s: '..' after a directory that does not "
			    "exist",
			    want);
		if (slash == anc) {
			anc[0] = '/';
			anc[1] = '\0';
		}
	}
	if (!ntail)
		die(EXIT_FAIL, "MNT %s: not a directory name", want);
	pfd = resolve_dir("MNT's parent", anc, parent);
	len = strlen(parent);
	if (len >= sizeof(r->mnt))
		die(EXIT_FAIL, "MNT %s: path too long", want);
	memcpy(r->mnt, parent, len + 1);
	if (!strcmp(r->mnt, "/"))
		len = 0;
	for (i = ntail; i-- > 0;) {
		int n = snprintf(r->mnt + len, sizeof(r->mnt) - len, "/%s",
				 tail[i]);

		if (n < 0 || (size_t)n >= sizeof(r->mnt) - len)
			die(EXIT_FAIL, "MNT %s: path too long", want);
		len += (size_t)n;
	}
	why = o->force || o->private_dir ? NULL : refused(r->mnt);
	if (why)
		die(EXIT_FAIL,
		    "refusing to mount onto %s: it is %s (--force "
		    "overrides)",
		    r->mnt, why);
	/* r->mnt is "parent/tail[ntail-1]/.../tail[0]": cut it per step. */
	len = strcmp(parent, "/") ? strlen(parent) : 0;
	for (i = ntail; i-- > 0;) {
		char so_far[PATH_MAX];
		int fd;

		len += 1 + strlen(tail[i]);
		memcpy(so_far, r->mnt, len);
		so_far[len] = '\0';
		fd = mkdir_one(pfd, tail[i], so_far, i == 0);
		close(pfd);
		pfd = fd;
	}
	if (fdpath_get(pfd, now, sizeof(now)) < 0 || strcmp(now, r->mnt))
		changed("MNT", want);
	return steal_fd(&pfd);
}

/* Dies: as its callees; a bad --private NAME is a usage error. */
static void resolve_paths(const struct mount_opts *o, struct mount_result *r,
			  const char *src, const char *mnt)
{
	char want[PATH_MAX * 2];

	r->src_fd = resolve_dir("SRC", src, r->src);
	if (o->private_dir) {
		char base[PATH_MAX];

		private_base(o, base, sizeof(base));
		if (!mnt)
			mnt = strrchr(r->src, '/') + 1;
		if (!*mnt || strchr(mnt, '/') || !strcmp(mnt, ".") ||
		    !strcmp(mnt, ".."))
			usage_error("mount",
				    "--private takes a NAME without "
				    "'/', not '%s'",
				    mnt);
		snprintf(want, sizeof(want), "%s/%s", base, mnt);
		/* NAME mounted before: its directory is still there, and
		 * must be that very directory (no symlink) */
		if (access(want, F_OK) < 0) {
			r->mnt_fd = make_mnt(o, r, want);
			return;
		}
		r->mnt_fd = resolve_dir("MNT", want, r->mnt);
		if (strcmp(r->mnt, want))
			changed("MNT", want);
		return;
	}
	if (access(mnt, F_OK) < 0 && errno == ENOENT) {
		if (!o->mkdir)
			die(EXIT_FAIL,
			    "MNT %s does not exist (--mkdir "
			    "creates it)",
			    mnt);
		r->mnt_fd = make_mnt(o, r, mnt);
		return;
	}
	r->mnt_fd = resolve_dir("MNT", mnt, r->mnt);
}

void mount_open(const struct mount_opts *o, const char *src, const char *mnt,
		struct mount_result *r)
{
	resolve_paths(o, r, src, mnt);
	check_paths(o, r);
}
