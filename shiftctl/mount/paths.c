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
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* Where --private mount points live: a 0700 directory of ours. */
/* Dies: --private's directory cannot be made ours. */
static void private_base(char *buf, size_t len)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	char parent[PATH_MAX];
	struct stat st;

	if (geteuid() == 0)
		snprintf(parent, sizeof(parent), "/run/shiftfs");
	else if (xdg && xdg[0] == '/')
		snprintf(parent, sizeof(parent), "%s/shiftfs", xdg);
	else
		die(EXIT_FAIL, "--private: XDG_RUNTIME_DIR is not set");
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
 * Create the directory want (one level, mode 0755) in its resolved parent
 * and return its fd, r->mnt its canonical path. The system-path check is
 * made before mkdir, so that a refused MNT is not created either.
 */
/* Dies: MNT cannot be made, or is refused. */
static int make_mnt(const struct mount_opts *o, struct mount_result *r,
		    const char *want)
{
	_cleanup_free_ char *d1 = strdup(want), *d2 = strdup(want);
	_cleanup_close_ int pfd = -1;
	char parent[PATH_MAX], now[PATH_MAX];
	const char *base, *why;
	int fd;

	if (!d1 || !d2)
		die(EXIT_FAIL, "out of memory");
	base = basename(d2);
	if (!*base || !strcmp(base, ".") || !strcmp(base, "..") ||
	    !strcmp(base, "/"))
		die(EXIT_FAIL, "MNT %s: not a directory name", want);
	pfd = resolve_dir("MNT's parent", dirname(d1), parent);
	if ((size_t)snprintf(r->mnt, sizeof(r->mnt), "%s/%s",
			     strcmp(parent, "/") ? parent : "",
			     base) >= sizeof(r->mnt))
		die(EXIT_FAIL, "MNT %s: path too long", want);
	why = o->force || o->private_dir ? NULL : refused(r->mnt);
	if (why)
		die(EXIT_FAIL,
		    "refusing to mount onto %s: it is %s (--force "
		    "overrides)",
		    r->mnt, why);
	if (mkdirat(pfd, base, 0755) < 0 && errno != EEXIST)
		die(EXIT_FAIL, "mkdir %s: %s", r->mnt, strerror(errno));
	fd = openat(pfd, base, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && (errno == ENOTDIR || errno == ELOOP))
		die(EXIT_FAIL, "MNT %s is not a directory", r->mnt);
	if (fd < 0)
		die(EXIT_FAIL, "MNT %s: %s", r->mnt, strerror(errno));
	if (fdpath_get(fd, now, sizeof(now)) < 0 || strcmp(now, r->mnt))
		changed("MNT", want);
	return fd;
}

/* Dies: as its callees; a bad --private NAME is a usage error. */
static void resolve_paths(const struct mount_opts *o, struct mount_result *r,
			  const char *src, const char *mnt)
{
	char want[PATH_MAX * 2];

	r->src_fd = resolve_dir("SRC", src, r->src);
	if (o->private_dir) {
		char base[PATH_MAX];

		private_base(base, sizeof(base));
		if (!mnt)
			mnt = strrchr(r->src, '/') + 1;
		if (!*mnt || strchr(mnt, '/') || !strcmp(mnt, ".") ||
		    !strcmp(mnt, ".."))
			usage_error("mount",
				    "--private takes a NAME without "
				    "'/', not '%s'",
				    mnt);
		snprintf(want, sizeof(want), "%s/%s", base, mnt);
		r->mnt_fd = make_mnt(o, r, want);
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
