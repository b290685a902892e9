/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shiftctl mount: show SRC at MNT with owners shifted through a map, with
 * the kernel's idmapped mounts where possible (zero overhead) and the
 * shiftfs FUSE daemon otherwise. Refuses system directories, home
 * directories and overlapping SRC/MNT; warns when a map hands host root's
 * files to an ordinary user at a mount point others can reach.
 *
 * SRC and MNT are resolved once, to O_PATH fds (open_verified), checked
 * through those fds and mounted by fd: the kernel backend with
 * open_tree(AT_EMPTY_PATH) + move_mount(MOVE_MOUNT_T_EMPTY_PATH); the FUSE
 * backend, as root, by mounting a /dev/fuse fd ourselves (fsopen, fsmount,
 * move_mount onto the MNT fd) and handing the daemon /dev/fd/N and the SRC
 * fd as /proc/self/fd/N. No path string is resolved a second time, so a
 * symlink or rename swapped in after the checks cannot redirect the mount.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "idmount.h"
#include "mounts.h"
#include "shiftctl.h"
#include "subid.h"
#include "syspath.h"

enum {
	OPT_JSON = OPT_VERB_FIRST,
	OPT_BACKEND,
	OPT_FORCE,
	OPT_MKDIR,
	OPT_PRIVATE,
	OPT_ALLOW_SUID_SRC,
};

enum backend { BACKEND_AUTO, BACKEND_IDMAP, BACKEND_FUSE };

struct mount_opts {
	enum backend backend;
	bool json, read_only, force, mkdir, private_dir, allow_suid_src;
	const char *fuse_opts; /* -o pass-through */
	bool suid, dev, allow_other;
	uint64_t mattr; /* more MOUNT_ATTR_* from -o (FUSE as root) */
	const char *fsname, *max_read;
	bool auto_allow_other; /* unprivileged, and /etc/fuse.conf allows */
	const char *fuse_only; /* first -o option idmap cannot honour */
	char src[PATH_MAX], mnt[PATH_MAX]; /* what src_fd, mnt_fd were */
	int src_fd, mnt_fd;		   /* O_PATH, checked */
	int mnt_id;			   /* the new mount's, in mountinfo */
	unsigned long long mnt_uniq;	   /* its unique id (0: none) */
	char why[512];			   /* why this backend */
	pid_t pid;			   /* FUSE daemon */
	char log[PATH_MAX];
};

#define MOUNT_TIMEOUT_MS 10000

/* clang-format off */
static const struct opt_def mount_defs[] = {
	{"read-only", no_argument, 'r',
	 " -r, --read-only            mount read-only\n"},
	{"backend", required_argument, OPT_BACKEND,
	 "     --backend=auto|idmap|fuse  (default auto: idmap, else fuse)\n"},
	{"options", required_argument, 'o',
	 " -o OPT[,OPT...]            shiftfs options (cache=, writeback,\n"
	 "                              suid, dev, allow_other, ...)\n"},
	{"mkdir", no_argument, OPT_MKDIR,
	 "     --mkdir                create MNT if it does not exist\n"},
	{"private", no_argument, OPT_PRIVATE,
	 "     --private              mount at a NAME under a 0700 directory\n"
	 "                              (/run/shiftfs/private as root)\n"},
	{"force", no_argument, OPT_FORCE,
	 "     --force                allow system or home directories and\n"
	 "                              overlapping SRC and MNT\n"},
	{"allow-suid-src", no_argument, OPT_ALLOW_SUID_SRC,
	 "     --allow-suid-src       idmap even where the map would let a\n"
	 "                              view id plant setuid files in SRC\n"},
	{"json", no_argument, OPT_JSON,
	 "     --json                 print the mount's record as JSON\n"},
	OPT_DEF_HELP,
	OPT_DEF_END,
};
/* clang-format on */

static const struct opt_group mount_group = {NULL, mount_defs};
static const struct opt_group *const groups[] = {
	&mapsrc_source_opts, &mapsrc_file_opts, &mapsrc_owner_opts,
	&mount_group,	     NULL,
};

static void usage(void)
{
	printf("\nUsage:\n %s mount [MAP SOURCE] [options] SRC MNT\n"
	       " %s mount [MAP SOURCE] [options] --private SRC [NAME]\n",
	       program_name, program_name);
	fputs("\nShow directory SRC at MNT with every owner shifted through an "
	      "id\n"
	      "map: with a kernel idmapped mount where possible, else with "
	      "the\n"
	      "shiftfs FUSE daemon. Prints which backend it used, why, and the "
	      "map.\n",
	      stdout);
	opts_help(stdout, groups);
	fputs("\nWith no map source, --rootless for the invoking user is "
	      "used; with\n"
	      "--user and no --owner, the owner is the owner of SRC.\n"
	      "Exit status: 0 mounted, 1 failure, 2 usage error.\n"
	      "\nFor more details see shiftctl-mount(1).\n",
	      stdout);
}

/* -o options the FUSE backend's own mount (as root) applies. */
static const struct {
	const char *name;
	uint64_t set;
} mount_flags[] = {
	{"noexec", MOUNT_ATTR_NOEXEC},
	{"noatime", MOUNT_ATTR_NOATIME},
	{"nodiratime", MOUNT_ATTR_NODIRATIME},
	{"strictatime", MOUNT_ATTR_STRICTATIME},
};

/* -o: remember what the idmap backend can do itself. */
static void parse_fuse_opts(struct mount_opts *o, const char *arg)
{
	static const char *const idmap_ok[] = {
		"ro", "rw", "nosuid", "nodev", "suid", "dev", "allow_other"};
	_cleanup_free_ char *copy = strdup(arg);
	char *save = NULL, *tok;
	size_t i;

	if (!copy)
		die(EXIT_FAIL, "out of memory");
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		bool ok = false;

		if (!strcmp(tok, "ro"))
			o->read_only = true;
		else if (!strcmp(tok, "suid"))
			o->suid = true;
		else if (!strcmp(tok, "dev"))
			o->dev = true;
		else if (!strcmp(tok, "allow_other"))
			o->allow_other = true;
		else if (!strncmp(tok, "fsname=", 7))
			o->fsname = strdup(tok + 7);
		else if (!strncmp(tok, "max_read=", 9))
			o->max_read = strdup(tok + 9);
		for (i = 0; i < sizeof(mount_flags) / sizeof(mount_flags[0]);
		     i++)
			if (!strcmp(tok, mount_flags[i].name))
				o->mattr |= mount_flags[i].set;
		for (i = 0; i < sizeof(idmap_ok) / sizeof(idmap_ok[0]); i++)
			ok |= !strcmp(tok, idmap_ok[i]);
		if (!ok && !o->fuse_only) {
			o->fuse_only = strdup(tok);
			if (!o->fuse_only)
				die(EXIT_FAIL, "out of memory");
		}
	}
	o->fuse_opts = arg;
}

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

static void check_paths(const struct mount_opts *o)
{
	const char *why;

	if (o->force)
		return;
	why = refused(o->src);
	if (why)
		die(EXIT_FAIL,
		    "refusing to mount from %s: it is %s (--force "
		    "overrides)",
		    o->src, why);
	/* --private mount points are ours, under /run/shiftfs as root. */
	why = o->private_dir ? NULL : refused(o->mnt);
	if (why)
		die(EXIT_FAIL,
		    "refusing to mount onto %s: it is %s (--force "
		    "overrides)",
		    o->mnt, why);
	if (inside(o->src, o->mnt) || inside(o->mnt, o->src))
		die(EXIT_FAIL,
		    "refusing to mount: SRC %s and MNT %s overlap "
		    "(one is inside the other; --force overrides)",
		    o->src, o->mnt);
}

/* Where --private mount points live: a 0700 directory of ours. */
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

static noreturn void changed(const char *what, const char *arg)
{
	die(EXIT_FAIL,
	    "%s %s changed while it was being resolved (a symlink or a "
	    "rename on its path): refusing to mount",
	    what, arg);
}

/* realpath(arg) into real, and an O_PATH fd of exactly that directory. */
static int resolve_dir(const char *what, const char *arg, char *real)
{
	int fd;

	if (!realpath(arg, real))
		die(EXIT_FAIL, "%s %s: %s", what, arg, strerror(errno));
	fd = open_verified(real, O_DIRECTORY);
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
 * and return its fd, o->mnt its canonical path. The system-path check is
 * made before mkdir, so that a refused MNT is not created either.
 */
static int make_mnt(struct mount_opts *o, const char *want)
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
	if ((size_t)snprintf(o->mnt, sizeof(o->mnt), "%s/%s",
			     strcmp(parent, "/") ? parent : "",
			     base) >= sizeof(o->mnt))
		die(EXIT_FAIL, "MNT %s: path too long", want);
	why = o->force || o->private_dir ? NULL : refused(o->mnt);
	if (why)
		die(EXIT_FAIL,
		    "refusing to mount onto %s: it is %s (--force "
		    "overrides)",
		    o->mnt, why);
	if (mkdirat(pfd, base, 0755) < 0 && errno != EEXIST)
		die(EXIT_FAIL, "mkdir %s: %s", o->mnt, strerror(errno));
	fd = openat(pfd, base, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && (errno == ENOTDIR || errno == ELOOP))
		die(EXIT_FAIL, "MNT %s is not a directory", o->mnt);
	if (fd < 0)
		die(EXIT_FAIL, "MNT %s: %s", o->mnt, strerror(errno));
	if (fd_path(fd, now, sizeof(now)) < 0 || strcmp(now, o->mnt))
		changed("MNT", want);
	return fd;
}

static void resolve_paths(struct mount_opts *o, const char *src,
			  const char *mnt)
{
	char want[PATH_MAX * 2];

	o->src_fd = resolve_dir("SRC", src, o->src);
	if (o->private_dir) {
		char base[PATH_MAX];

		private_base(base, sizeof(base));
		if (!mnt)
			mnt = strrchr(o->src, '/') + 1;
		if (!*mnt || strchr(mnt, '/') || !strcmp(mnt, ".") ||
		    !strcmp(mnt, ".."))
			usage_error("mount",
				    "--private takes a NAME without "
				    "'/', not '%s'",
				    mnt);
		snprintf(want, sizeof(want), "%s/%s", base, mnt);
		o->mnt_fd = make_mnt(o, want);
		return;
	}
	if (access(mnt, F_OK) < 0 && errno == ENOENT) {
		if (!o->mkdir)
			die(EXIT_FAIL,
			    "MNT %s does not exist (--mkdir "
			    "creates it)",
			    mnt);
		o->mnt_fd = make_mnt(o, mnt);
		return;
	}
	o->mnt_fd = resolve_dir("MNT", mnt, o->mnt);
}

/* Owner mode's default owner: whoever owns SRC. */
static void default_owner(struct mapsrc *ms, int src_fd, const char *src)
{
	static char buf[32];
	struct stat st;

	if (!ms->user_spec || ms->owner_spec)
		return;
	if (fstat(src_fd, &st) < 0)
		die(EXIT_FAIL, "SRC %s: %s", src, strerror(errno));
	snprintf(buf, sizeof(buf), "%u:%u", (unsigned)st.st_uid,
		 (unsigned)st.st_gid);
	ms->owner_spec = buf;
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

static void safety_warning(const struct mount_opts *o, const struct idmaps *m)
{
	char what[160];

	if (geteuid() != 0 && !o->private_dir &&
	    (o->allow_other || o->auto_allow_other) &&
	    reachable_by_others(o->mnt, o->src))
		warn("allow_other is on%s: every host user who can reach %s "
		     "can use it, with the permissions it shows, even for "
		     "data behind your 0700 home; --private mounts it where "
		     "only you and the container's bind mount reach it",
		     o->auto_allow_other ? " (user_allow_other in "
					   "/etc/fuse.conf)"
					 : "",
		     o->mnt);

	/* Unprivileged, the daemon cannot give anyone more than the caller
	 * has, so only a privileged mount can hand out root's files. */
	if (geteuid() != 0 || o->private_dir ||
	    !risky_map(m, what, sizeof(what)))
		return;
	if (!reachable_by_others(o->mnt, o->src))
		return;
	warn("this map shows %s, and %s is reachable by other host users; "
	     "use --private to mount under a 0700 directory",
	     what, o->mnt);
}

static bool fuse_conf_allows_other(void)
{
	_cleanup_fclose_ FILE *f = fopen("/etc/fuse.conf", "re");
	char line[256];

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		char *p = line + strspn(line, " \t");

		p[strcspn(p, " \t\r\n")] = '\0';
		if (!strcmp(p, "user_allow_other"))
			return true;
	}
	return false;
}

/* Running with privilege, or with ids that differ from whoever started
 * us (sudo -E, setuid): the environment is not ours to trust. */
static bool privileged(void)
{
	return geteuid() == 0 || getuid() != geteuid() || getgid() != getegid();
}

static const char *exe_if(char *buf, size_t len, const char *dir,
			  const char *rel)
{
	if ((size_t)snprintf(buf, len, "%s/%s", dir, rel) >= len)
		return NULL;
	return access(buf, X_OK) == 0 ? buf : NULL;
}

/*
 * The shiftfs binary: next to our own executable (../fs/shiftfs in a build
 * tree, shiftfs in the same directory or ../libexec/shiftfs once
 * installed), else the usual install directories, else PATH. $SHIFTFS
 * comes first only for an unprivileged user: as root (sudo -E, env_keep)
 * it would choose the program root runs, so it is ignored.
 */
static const char *find_shiftfs(void)
{
	static const char *const rel[] = {"../fs/shiftfs", "shiftfs",
					  "../libexec/shiftfs",
					  "../libexec/shiftfs/shiftfs"};
	static const char *const sys[] = {
		"/usr/local/bin/shiftfs", "/usr/bin/shiftfs",
		"/usr/local/libexec/shiftfs", "/usr/libexec/shiftfs"};
	static char buf[PATH_MAX + 32];
	const char *env = privileged() ? NULL : getenv("SHIFTFS");
	const char *hit = NULL;
	char self[PATH_MAX];
	ssize_t n;
	char *dir;
	size_t i;

	if (env && *env)
		return env;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		dir = strrchr(self, '/');
		if (dir) {
			*dir = '\0';
			for (i = 0; !hit && i < sizeof(rel) / sizeof(rel[0]);
			     i++)
				hit = exe_if(buf, sizeof(buf), self, rel[i]);
		}
	}
	for (i = 0; !hit && i < sizeof(sys) / sizeof(sys[0]); i++)
		if (access(sys[i], X_OK) == 0)
			hit = sys[i];
	return hit ? hit : "shiftfs";
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* The last non-empty line of the daemon's log. */
static void last_log_line(const char *path, char *out, size_t len)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	char line[512];

	snprintf(out, len, "(no output)");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0])
			snprintf(out, len, "%s", line);
	}
}

static int open_log(struct mount_opts *o)
{
	int fd;

	if (state_path(o->mnt, o->log, sizeof(o->log), true) == 0) {
		strcpy(o->log + strlen(o->log) - strlen(".json"), ".log");
		fd = open(o->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			  0600);
		if (fd >= 0)
			return fd;
	}
	snprintf(o->log, sizeof(o->log), "/tmp/shiftfs-XXXXXX.log");
	fd = mkostemps(o->log, 4, O_CLOEXEC);
	if (fd < 0)
		die(EXIT_FAIL, "cannot create a log file: %s", strerror(errno));
	return fd;
}

/*
 * An unmapped owner is shown as the kernel's own overflow id by both
 * backends and matches nobody; showing it as any other id N would hand it
 * to N's holder, so the view cannot take --overflow-uid/--overflow-gid.
 */
static void check_overflow(const struct idmaps *m)
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

static void build_fuse_opts(const struct mount_opts *o, const struct idmaps *m,
			    char *buf, size_t len)
{
	static char u[IDMAP_MAX_RANGES * 36], g[IDMAP_MAX_RANGES * 36];
	size_t n;

	idmap_format_opt(&m->uid, u, sizeof(u));
	idmap_format_opt(&m->gid, g, sizeof(g));
	n = (size_t)snprintf(buf, len,
			     "uidmap=%s,gidmap=%s%s%s%s%s",
			     u, g,
			     o->read_only ? ",ro" : "",
			     o->auto_allow_other ? ",allow_other" : "",
			     o->fuse_opts ? "," : "",
			     o->fuse_opts ? o->fuse_opts : "");
	if (n >= len)
		die(EXIT_FAIL, "shiftfs options too long");
}

static void exec_daemon(const char *bin, const char *src, const char *mnt,
			const char *opts, int log_fd)
{
	int null = open("/dev/null", O_RDONLY);

	setsid();
	if (null >= 0)
		dup2(null, STDIN_FILENO);
	dup2(log_fd, STDOUT_FILENO);
	dup2(log_fd, STDERR_FILENO);
	execlp(bin, bin, src, mnt, "-f", "-o", opts, (char *)NULL);
	fprintf(stderr, "cannot run %s: %s\n", bin, strerror(errno));
	_exit(127);
}

/* Is a new fuse.shiftfs mount on top of MNT (not the one before, old_id)? */
static bool fuse_mounted(const char *mnt, int old_id)
{
	struct mnt_entry *e = malloc(sizeof(*e));
	bool ok;

	if (!e)
		die(EXIT_FAIL, "out of memory");
	ok = mnt_find(mnt, e) == 0 && e->id != old_id &&
	     !strcmp(e->fstype, SHIFTFS_FSTYPE);
	free(e);
	return ok;
}

static int top_mount_id(const char *mnt)
{
	struct mnt_entry *e = malloc(sizeof(*e));
	int id = -1;

	if (!e)
		die(EXIT_FAIL, "out of memory");
	if (mnt_find(mnt, e) == 0)
		id = e->id;
	free(e);
	return id;
}

static noreturn void daemon_failed(struct mount_opts *o, pid_t pid, int status)
{
	char line[512];

	last_log_line(o->log, line, sizeof(line));
	unlink(o->log);
	if (pid > 0)
		die(EXIT_FAIL, "shiftfs failed to mount %s (exit %d): %s",
		    o->mnt, WIFEXITED(status) ? WEXITSTATUS(status) : -1, line);
	die(EXIT_FAIL, "shiftfs did not mount %s within %d s: %s", o->mnt,
	    MOUNT_TIMEOUT_MS / 1000, line);
}

/* Unprivileged: the daemon mounts through fusermount3, by path, with the
 * caller's own rights (which bound what a swapped path could reach). */
static void mount_fuse_user(struct mount_opts *o, const char *bin,
			    const char *opts, int log_fd)
{
	int old_id = top_mount_id(o->mnt);
	_cleanup_close_ int fd = -1;
	int waited, status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		die(EXIT_FAIL, "fork: %s", strerror(errno));
	if (pid == 0)
		exec_daemon(bin, o->src, o->mnt, opts, log_fd);
	for (waited = 0; waited < MOUNT_TIMEOUT_MS; waited += 20) {
		if (fuse_mounted(o->mnt, old_id)) {
			o->pid = pid;
			fd = open_verified(o->mnt, O_DIRECTORY);
			o->mnt_id = top_mount_id(o->mnt);
			if (fd >= 0)
				mnt_id_at(fd, "", &o->mnt_id, &o->mnt_uniq);
			return;
		}
		if (waitpid(pid, &status, WNOHANG) == pid)
			daemon_failed(o, pid, status);
		sleep_ms(20);
	}
	kill(pid, SIGTERM);
	daemon_failed(o, 0, 0);
}

static int fsconfig_str(int fs, const char *key, const char *val)
{
	return fsconfig(fs, FSCONFIG_SET_STRING, key, val, 0);
}

/* Before any daemon ran: its (empty) log goes too. */
static noreturn void tree_failed(const struct mount_opts *o, const char *what)
{
	int e = errno;

	unlink(o->log);
	die(EXIT_FAIL, "%s for %s: %s", what, o->src, strerror(e));
}

/*
 * A detached fuse.shiftfs mount on a new /dev/fuse connection: what
 * libfuse's mount would make (default_permissions, allow_other, nosuid,
 * nodev unless -o suid/dev), but not attached anywhere yet. Returns the
 * mount's fd; *fuse_fd is the /dev/fuse fd the daemon serves.
 */
static int fuse_tree(const struct mount_opts *o, int *fuse_fd)
{
	_cleanup_close_ int fs = -1, fuse = -1;
	uint64_t attr = o->mattr;
	char num[32];
	int tree;

	fuse = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fuse < 0)
		tree_failed(o, "/dev/fuse");
	fs = fsopen("fuse", FSOPEN_CLOEXEC);
	if (fs < 0)
		tree_failed(o, "fsopen(fuse)");
	snprintf(num, sizeof(num), "%d", fuse);
	if (fsconfig_str(fs, "source", o->fsname ? o->fsname : o->src) < 0 ||
	    fsconfig_str(fs, "subtype", "shiftfs") < 0 ||
	    fsconfig_str(fs, "fd", num) < 0 ||
	    fsconfig_str(fs, "rootmode", "40000") < 0 ||
	    fsconfig_str(fs, "user_id", "0") < 0 ||
	    fsconfig_str(fs, "group_id", "0") < 0 ||
	    fsconfig(fs, FSCONFIG_SET_FLAG, "default_permissions", NULL, 0) <
		    0 ||
	    fsconfig(fs, FSCONFIG_SET_FLAG, "allow_other", NULL, 0) < 0 ||
	    (o->max_read && fsconfig_str(fs, "max_read", o->max_read) < 0) ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		tree_failed(o, "creating the FUSE mount");
	if (o->read_only)
		attr |= MOUNT_ATTR_RDONLY;
	if (!o->suid)
		attr |= MOUNT_ATTR_NOSUID;
	if (!o->dev)
		attr |= MOUNT_ATTR_NODEV;
	tree = fsmount(fs, FSMOUNT_CLOEXEC, (unsigned int)attr);
	if (tree < 0)
		tree_failed(o, "fsmount(fuse)");
	*fuse_fd = fuse;
	fuse = -1;
	return tree;
}

/* Fork a child that stats the tree's root, which waits for the daemon's
 * answer to FUSE_INIT: it exits 0 once the daemon serves requests. */
static pid_t wait_for_init(int tree)
{
	struct statx stx;
	pid_t pid = fork();

	if (pid < 0)
		die(EXIT_FAIL, "fork: %s", strerror(errno));
	if (pid == 0)
		_exit(statx(tree, "", AT_EMPTY_PATH | AT_STATX_FORCE_SYNC,
			    STATX_MODE, &stx) == 0
			      ? 0
			      : 1);
	return pid;
}

/*
 * As root: make the mount ourselves and attach it to the checked MNT fd;
 * the daemon serves the /dev/fuse fd (libfuse's "/dev/fd/N" mount point)
 * and opens SRC through our checked fd (/proc/self/fd/N, inherited).
 */
static void mount_fuse_root(struct mount_opts *o, const char *bin,
			    const char *opts, int log_fd)
{
	_cleanup_close_ int tree = -1, fuse = -1;
	char src[64], mnt[64];
	int waited, status;
	pid_t pid, init;

	tree = fuse_tree(o, &fuse);
	pid = fork();
	if (pid < 0)
		die(EXIT_FAIL, "fork: %s", strerror(errno));
	if (pid == 0) {
		/* The two fds are the daemon's arguments: keep them. */
		if (fcntl(fuse, F_SETFD, 0) < 0 ||
		    fcntl(o->src_fd, F_SETFD, 0) < 0)
			_exit(127);
		snprintf(src, sizeof(src), "/proc/self/fd/%d", o->src_fd);
		snprintf(mnt, sizeof(mnt), "/dev/fd/%d", fuse);
		exec_daemon(bin, src, mnt, opts, log_fd);
	}
	/* Only the daemon holds the connection now: if it dies, the
	 * connection aborts and the INIT wait below fails. */
	close(fuse);
	fuse = -1;
	init = wait_for_init(tree);
	for (waited = 0; waited < MOUNT_TIMEOUT_MS; waited += 20) {
		if (waitpid(init, &status, WNOHANG) == init) {
			if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
				break;
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			daemon_failed(o, pid, status);
		}
		if (waitpid(pid, &status, WNOHANG) == pid) {
			kill(init, SIGKILL);
			waitpid(init, NULL, 0);
			daemon_failed(o, pid, status);
		}
		sleep_ms(20);
	}
	if (waited >= MOUNT_TIMEOUT_MS) {
		kill(init, SIGKILL);
		waitpid(init, NULL, 0);
		kill(pid, SIGTERM);
		daemon_failed(o, 0, 0);
	}
	if (move_mount(tree, "", o->mnt_fd, "",
		       MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
		int e = errno;

		kill(pid, SIGTERM);
		unlink(o->log);
		die(EXIT_FAIL, "move_mount onto %s: %s", o->mnt, strerror(e));
	}
	o->pid = pid;
	mnt_id_at(tree, "", &o->mnt_id, &o->mnt_uniq);
}

static void mount_fuse(struct mount_opts *o, const struct idmaps *m)
{
	static char opts[IDMAP_MAX_RANGES * 72 + 4096];
	const char *bin = find_shiftfs();
	_cleanup_close_ int log_fd = -1;

	if (geteuid() != 0 && !fuse_conf_allows_other()) {
		if (o->allow_other)
			die(EXIT_FAIL, "-o allow_other as an unprivileged user "
				       "needs user_allow_other in "
				       "/etc/fuse.conf");
	} else if (geteuid() != 0 && !o->allow_other) {
		/* The container's ids are not ours: they must see it. */
		o->auto_allow_other = true;
	}
	build_fuse_opts(o, m, opts, sizeof(opts));
	log_fd = open_log(o);
	if (geteuid() == 0)
		mount_fuse_root(o, bin, opts, log_fd);
	else
		mount_fuse_user(o, bin, opts, log_fd);
}

/* The first disk id in [d, d + n) that none of the holders holds. */
static bool first_foreign(const struct subid_ranges *held, uint32_t d,
			  uint32_t n, uint32_t *out)
{
	uint64_t x = d, end = (uint64_t)d + n;
	uint32_t i;

	while (x < end) {
		bool in = false;

		for (i = 0; !in && i < held->n; i++) {
			const struct subid_range *r = &held->r[i];

			if (x >= r->start && x < (uint64_t)r->start + r->count) {
				x = (uint64_t)r->start + r->count;
				in = true;
			}
		}
		if (!in) {
			*out = (uint32_t)x;
			return true;
		}
	}
	return false;
}

/*
 * Does the map let a non-root view id own a disk id that none of the
 * view's holders holds (so a setuid/setgid file or a file capability made
 * through the mount gives, run natively from SRC, an id they lack)? The
 * holders hold their view ids and, as for newuidmap, their own id and
 * subordinate ranges from the system's /etc/subuid or /etc/subgid: owner
 * mode that shows alice's files to her container's uid 1000 (alice's
 * subordinate 100999) hands nobody an id alice lacks.
 */
static bool privileged_owner(const struct idmap *map, bool gids,
			     uint32_t *disk, uint32_t *view)
{
	static struct subid_ranges held;
	struct shift_diag d = {""};
	uint32_t i;

	if (subid_held(gids ? "/etc/subgid" : "/etc/subuid", map, gids, &held,
		       &d) < 0) {
		/* Unreadable or too many ranges: only the view ids count. */
		held.n = 0;
		for (i = 0; i < map->n && i < IDMAP_MAX_RANGES; i++) {
			held.r[i].start = map->r[i].view;
			held.r[i].count = map->r[i].count;
			held.n++;
		}
	}
	for (i = 0; i < map->n; i++) {
		uint32_t dk = map->r[i].disk, v = map->r[i].view;
		uint32_t n = map->r[i].count;

		if (v == 0) { /* view root: the administrator */
			if (n == 1)
				continue;
			dk++, v++, n--;
		}
		if (first_foreign(&held, dk, n, disk)) {
			*view = v + (*disk - dk);
			return true;
		}
	}
	return false;
}

struct nosuid_ctx {
	const char *src;
	unsigned int dev[64][2];
	size_t n;
	bool overflow, suid;
};

static bool has_dev(const struct nosuid_ctx *c, const struct mnt_entry *e)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (c->dev[i][0] == e->major && c->dev[i][1] == e->minor)
			return true;
	return false;
}

static int below_src(const struct mnt_entry *e, void *ctx)
{
	struct nosuid_ctx *c = ctx;
	size_t n = strlen(c->src);

	if (strncmp(e->target, c->src, n) ||
	    (e->target[n] != '/' && strcmp(c->src, "/")) || has_dev(c, e))
		return 0;
	if (c->n == sizeof(c->dev) / sizeof(c->dev[0])) {
		c->overflow = true;
		return 1;
	}
	c->dev[c->n][0] = e->major;
	c->dev[c->n++][1] = e->minor;
	return 0;
}

static int suid_mount(const struct mnt_entry *e, void *ctx)
{
	struct nosuid_ctx *c = ctx;

	if (has_dev(c, e) && !mnt_opt_has(e->opts, "nosuid")) {
		c->suid = true;
		return 1;
	}
	return 0;
}

/* SRC's filesystem, and those of the submounts the idmapped tree carries,
 * are mounted nosuid everywhere (in our mount namespace). */
static bool src_nosuid(const struct mount_opts *o)
{
	static struct nosuid_ctx c;
	static struct mnt_entry e;
	unsigned long long uniq;
	struct statvfs sv;
	int id;

	if (fstatvfs(o->src_fd, &sv) < 0 || !(sv.f_flag & ST_NOSUID))
		return false;
	if (mnt_id_at(o->src_fd, "", &id, &uniq) < 0 || mnt_by_id(id, &e) < 0)
		return false;
	memset(&c, 0, sizeof(c));
	c.src = o->src;
	c.dev[0][0] = e.major;
	c.dev[0][1] = e.minor;
	c.n = 1;
	if (mnt_foreach(below_src, &c) < 0 || c.overflow)
		return false;
	if (mnt_foreach(suid_mount, &c) < 0)
		return false;
	return !c.suid;
}

/* Only root can get through fd: root's, no rights for others, and group
 * rights only for group root (and then no ACL that could name others). */
static bool root_only_dir(int fd)
{
	char path[64];
	struct stat st;

	if (fstat(fd, &st) < 0 || st.st_uid != 0 || (st.st_mode & S_IRWXO))
		return false;
	if (!(st.st_mode & S_IRWXG))
		return true;
	if (st.st_gid != 0)
		return false;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return getxattr(path, "system.posix_acl_access", NULL, 0) < 0 &&
	       (errno == ENODATA || errno == EOPNOTSUPP);
}

/* A mount of the same filesystem whose root is strictly below the root-only
 * directory (filesystem-relative path rel) reaches SRC without passing it. */
struct bypass_ctx {
	unsigned int major, minor;
	const char *rel;
	bool bypass;
};

static int bypasses(const struct mnt_entry *e, void *ctx)
{
	struct bypass_ctx *c = ctx;
	size_t n = strlen(c->rel);

	if (e->major != c->major || e->minor != c->minor)
		return 0;
	if (!strcmp(c->rel, "/") ? strcmp(e->root, "/") != 0
				 : !strncmp(e->root, c->rel, n) &&
					   e->root[n] == '/') {
		c->bypass = true;
		return 1;
	}
	return 0;
}

/*
 * The directory fd (on SRC's mount m) as a path within the filesystem:
 * m's root plus the part of fd's path below m's mount point.
 */
static bool fs_relative(int fd, const struct mnt_entry *m, char *out,
			size_t len)
{
	char link[64], abs[PATH_MAX];
	size_t t = strlen(m->target);
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, abs, sizeof(abs) - 1);
	if (n < 0)
		return false;
	abs[n] = '\0';
	if (!strcmp(m->target, "/"))
		t = 0;
	else if (strncmp(abs, m->target, t) || (abs[t] && abs[t] != '/'))
		return false;
	/* root "/" + rest "/a/b"; root "/x" + rest "" or "/a" */
	if (!strcmp(m->root, "/"))
		n = snprintf(out, len, "%s", abs[t] ? abs + t : "/");
	else
		n = snprintf(out, len, "%s%s", m->root, abs + t);
	return n > 0 && (size_t)n < len;
}

static bool is_root_dir(int fd)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && stat("/", &b) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/*
 * Can nobody but root reach SRC's files? Some directory strictly above
 * SRC (SRC itself is the view's root: its holders can chmod it through
 * the mount), on SRC's own mount (".." at a mount's root leaves the
 * filesystem, so directories above a bind mount say nothing about other
 * ways in), is root-only, and no mount of the same filesystem in our
 * namespace has its root below that directory (a bind mount of SRC or of
 * a directory between would bypass it). Walked by ".." on fds.
 */
static bool src_root_only(int src_fd)
{
	static struct mnt_entry m;
	static char rel[PATH_MAX];
	struct bypass_ctx c;
	unsigned long long uniq;
	int fd, up, id, src_id, i;
	bool found = false;

	if (mnt_id_at(src_fd, "", &src_id, &uniq) < 0 ||
	    mnt_by_id(src_id, &m) < 0)
		return false;
	fd = openat(src_fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
	for (i = 0; fd >= 0 && i < 4096; i++) {
		if (mnt_id_at(fd, "", &id, &uniq) < 0 || id != src_id)
			break; /* left SRC's mount */
		if (root_only_dir(fd)) {
			found = fs_relative(fd, &m, rel, sizeof(rel));
			break;
		}
		if (is_root_dir(fd))
			break;
		up = openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		close(fd);
		fd = up;
	}
	if (fd >= 0)
		close(fd);
	if (!found)
		return false;
	c.major = m.major;
	c.minor = m.minor;
	c.rel = rel;
	c.bypass = false;
	if (mnt_foreach(bypasses, &c) < 0)
		return false;
	return !c.bypass;
}

/*
 * The kernel cannot be told to refuse setuid/setgid bits or file
 * capabilities made through an idmapped mount. When the map lets a
 * non-root view id own a privileged disk id, such a mount is refused
 * unless running SRC's files natively cannot honour them (nosuid) or
 * nobody but root can reach them, or the administrator says so. Returns
 * true (and why) when refused.
 */
static bool idmap_suid_refused(const struct mount_opts *o,
			       const struct idmaps *m, char *why, size_t len)
{
	uint32_t disk, view;
	const char *kind = "uid";

	/* Unprivileged, the kernel refuses idmapped mounts anyway. */
	if (o->allow_suid_src || geteuid() != 0)
		return false;
	if (!privileged_owner(&m->uid, false, &disk, &view)) {
		if (!privileged_owner(&m->gid, true, &disk, &view))
			return false;
		kind = "gid";
	}
	if (src_nosuid(o) || src_root_only(o->src_fd))
		return false;
	snprintf(why, len,
		 "view %s %u would own disk %s %u in SRC, which is not "
		 "nosuid and not reachable only by root: a setuid file made "
		 "through the mount would work natively",
		 kind, view, kind, disk);
	return true;
}

/* Try the kernel; returns false (with o->why) when auto should fall back. */
static bool mount_idmap(struct mount_opts *o, const struct idmaps *m)
{
	struct idmount_opts io = {o->read_only, o->suid, o->dev};
	struct shift_diag d = {""};
	enum idmount_stage stage;
	char why[256];
	int r;

	if (idmap_suid_refused(o, m, why, sizeof(why))) {
		if (o->backend == BACKEND_AUTO) {
			snprintf(o->why, sizeof(o->why),
				 "no idmapped mount: %s (the FUSE daemon "
				 "refuses those; --allow-suid-src overrides)",
				 why);
			return false;
		}
		die(EXIT_FAIL,
		    "refusing an idmapped mount of %s: %s (mount SRC nosuid, "
		    "keep it under a directory only root can enter, use "
		    "--backend=fuse, or pass --allow-suid-src)",
		    o->src, why);
	}
	r = idmount_mount(o->src_fd, o->src, o->mnt_fd, o->mnt, m, &io, &stage,
			  &d);
	if (r >= 0) {
		mnt_id_at(r, "", &o->mnt_id, &o->mnt_uniq);
		close(r);
		snprintf(o->why, sizeof(o->why),
			 "kernel idmapped mount: zero overhead");
		return true;
	}
	if (o->backend == BACKEND_AUTO &&
	    idmount_unsupported(stage, -r, why, sizeof(why))) {
		snprintf(o->why, sizeof(o->why), "no idmapped mount: %s (%s)",
			 why, d.msg);
		return false;
	}
	die(EXIT_FAIL, "idmapped mount of %s at %s failed: %s", o->src, o->mnt,
	    d.msg);
}

static enum backend choose_and_mount(struct mount_opts *o,
				     const struct idmaps *m)
{
	if (o->backend == BACKEND_AUTO && o->fuse_only) {
		snprintf(o->why, sizeof(o->why), "-o %s needs the FUSE backend",
			 o->fuse_only);
	} else if (o->backend == BACKEND_AUTO && geteuid() != 0) {
		snprintf(o->why, sizeof(o->why),
			 "not root: idmapped mounts need CAP_SYS_ADMIN");
	} else if (o->backend != BACKEND_FUSE) {
		if (mount_idmap(o, m))
			return BACKEND_IDMAP;
	} else {
		snprintf(o->why, sizeof(o->why), "--backend=fuse");
	}
	mount_fuse(o, m);
	return BACKEND_FUSE;
}

static struct json_object *record(const struct mount_opts *o,
				  const struct mapsrc *ms,
				  const struct idmaps *m, enum backend b)
{
	static char spec[IDMAP_MAX_RANGES * 36];
	struct json_object *j = json_object_new_object();
	char what[128];

	mapsrc_describe(ms, what, sizeof(what));
	json_object_object_add(j, "mountpoint", json_object_new_string(o->mnt));
	json_object_object_add(j, "source", json_object_new_string(o->src));
	json_object_object_add(
		j, "backend",
		json_object_new_string(b == BACKEND_IDMAP ? "idmap" : "fuse"));
	json_object_object_add(j, "reason", json_object_new_string(o->why));
	json_object_object_add(j, "layout", json_object_new_string(what));
	json_object_object_add(j, "owner_mode",
			       json_object_new_boolean(ms->req.owner_mode));
	json_object_object_add(j, "read_only",
			       json_object_new_boolean(o->read_only));
	idmap_format_spec(&m->uid, spec, sizeof(spec));
	json_object_object_add(j, "uid_map_spec", json_object_new_string(spec));
	idmap_format_spec(&m->gid, spec, sizeof(spec));
	json_object_object_add(j, "gid_map_spec", json_object_new_string(spec));
	json_object_object_add(j, "uid_map", json_idmap(&m->uid));
	json_object_object_add(j, "gid_map", json_idmap(&m->gid));
	json_object_object_add(j, "overflow_uid",
			       json_object_new_int64(m->overflow_uid));
	json_object_object_add(j, "overflow_gid",
			       json_object_new_int64(m->overflow_gid));
	json_object_object_add(j, "mount_id", json_object_new_int(o->mnt_id));
	if (o->mnt_uniq)
		json_object_object_add(
			j, "mount_id_unique",
			json_object_new_int64((int64_t)o->mnt_uniq));
	json_object_object_add(j, "uid", json_object_new_int64(geteuid()));
	if (b == BACKEND_FUSE) {
		unsigned long long start;
		char state;

		json_object_object_add(j, "pid", json_object_new_int(o->pid));
		if (proc_stat(o->pid, &state, &start) == 0)
			json_object_object_add(
				j, "pid_start",
				json_object_new_int64((int64_t)start));
		json_object_object_add(j, "log",
				       json_object_new_string(o->log));
	}
	if (o->fuse_opts)
		json_object_object_add(j, "options",
				       json_object_new_string(o->fuse_opts));
	return j;
}

/* Refuse to stack a second shifted mount on one we already have. */
static void check_not_ours(const struct mount_opts *o)
{
	struct json_object *st = NULL;
	unsigned long long uniq;
	long long id;
	int now = -1;

	if (state_read(o->mnt, &st) < 0)
		return;
	id = state_int(st, "mount_id");
	json_object_put(st);
	/* MNT's fd is the root of the mount on top of it, if any. */
	if (mnt_id_at(o->mnt_fd, "", &now, &uniq) < 0)
		now = -1;
	if (id >= 0 && now == id)
		die(EXIT_FAIL,
		    "%s is already a shifted mount (shiftctl umount "
		    "%s first)",
		    o->mnt, o->mnt);
	state_remove(o->mnt); /* stale */
}

static void report(const struct mount_opts *o, const struct idmaps *m,
		   enum backend b)
{
	static char u[IDMAP_MAX_RANGES * 36], g[IDMAP_MAX_RANGES * 36];

	idmap_format_spec(&m->uid, u, sizeof(u));
	idmap_format_spec(&m->gid, g, sizeof(g));
	if (b == BACKEND_IDMAP)
		printf("%s: mounted %s at %s with idmap (%s); uid map %s, "
		       "gid map %s\n",
		       program_name, o->src, o->mnt, o->why, u, g);
	else
		printf("%s: mounted %s at %s with fuse (shiftfs daemon pid %d; "
		       "%s); uid map %s, gid map %s\n",
		       program_name, o->src, o->mnt, (int)o->pid, o->why, u, g);
	if (o->private_dir)
		printf("%s: bind %s into the container\n", program_name,
		       o->mnt);
}

/* Unprivileged FUSE without allow_other: only the caller's uid can use the
 * mount, which a container whose ids are not the caller's cannot. */
static void rootless_notes(const struct mount_opts *o, enum backend b)
{
	if (b != BACKEND_FUSE || geteuid() == 0 || o->allow_other ||
	    o->auto_allow_other)
		return;
	warn("only uid %u can use %s: for a container uid other than yours "
	     "to see it, add user_allow_other to /etc/fuse.conf (then "
	     "shiftctl passes allow_other)",
	     (unsigned)geteuid(), o->mnt);
}

static void parse_backend(struct mount_opts *o, const char *arg)
{
	if (!strcmp(arg, "auto"))
		o->backend = BACKEND_AUTO;
	else if (!strcmp(arg, "idmap"))
		o->backend = BACKEND_IDMAP;
	else if (!strcmp(arg, "fuse"))
		o->backend = BACKEND_FUSE;
	else
		usage_error("mount",
			    "--backend takes auto, idmap or fuse, "
			    "not '%s'",
			    arg);
}

int cmd_mount(int argc, char **argv)
{
	static struct mount_opts o;
	struct json_object *rec;
	struct mapsrc ms;
	struct idmaps m;
	enum backend b;
	struct opts p;
	int c, r, npos;

	mapsrc_init(&ms, "mount");
	opts_init(&p, "hro:", groups);
	while ((c = opts_next(&p, argc, argv)) != -1) {
		if (mapsrc_option(&ms, c, optarg))
			continue;
		switch (c) {
		case 'r':
			o.read_only = true;
			break;
		case OPT_BACKEND:
			parse_backend(&o, optarg);
			break;
		case 'o':
			parse_fuse_opts(&o, optarg);
			break;
		case OPT_FORCE:
			o.force = true;
			break;
		case OPT_MKDIR:
			o.mkdir = true;
			break;
		case OPT_PRIVATE:
			o.private_dir = true;
			break;
		case OPT_ALLOW_SUID_SRC:
			o.allow_suid_src = true;
			break;
		case OPT_JSON:
			o.json = true;
			break;
		case 'h':
			usage();
			return EXIT_OK;
		default:
			usage_try("mount");
		}
	}
	npos = argc - optind;
	if (o.private_dir ? npos < 1 || npos > 2 : npos != 2)
		usage_error("mount", o.private_dir
					     ? "--private takes SRC [NAME]"
					     : "give SRC and MNT");
	if (ms.owner_spec && !ms.user_spec)
		usage_error("mount", "--owner goes with --user");
	if (o.backend == BACKEND_IDMAP && o.fuse_only)
		usage_error("mount", "-o %s needs the FUSE backend",
			    o.fuse_only);
	resolve_paths(&o, argv[optind], npos > 1 ? argv[optind + 1] : NULL);
	check_paths(&o);
	default_owner(&ms, o.src_fd, o.src);
	mapsrc_build(&ms, true, &m);
	if (m.uid.n == 0 || m.gid.n == 0)
		die(EXIT_FAIL, "the map is empty: nothing would be visible");
	check_overflow(&m);
	check_not_ours(&o);
	if (geteuid() == 0)
		safety_warning(&o, &m);
	b = choose_and_mount(&o, &m);
	if (geteuid() != 0)
		safety_warning(&o, &m); /* allow_other is known now */
	rec = record(&o, &ms, &m, b);
	r = state_write(o.mnt, rec);
	if (r < 0)
		warn("cannot record the mount (shiftctl status will show "
		     "less): "
		     "%s",
		     strerror(-r));
	if (o.json)
		json_print(rec);
	else {
		json_object_put(rec);
		report(&o, &m, b);
	}
	rootless_notes(&o, b);
	return EXIT_OK;
}
