/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shiftfs-idmap-helper: make a kernel idmapped mount for an ordinary user,
 * as fusermount3 makes FUSE mounts and newuidmap writes user namespace
 * maps, within the rule of both: every id on both sides of the map is one
 * the caller already holds (their uid and /etc/subuid ranges; their
 * primary gid and /etc/subgid ranges), SRC is a directory owned by one of
 * those ids, MNT a directory the caller owns, both reached with the
 * caller's own rights and without symlinks, the mount always nosuid,nodev,
 * and it unmounts only what it mounted for the same caller. Installed with
 * file capabilities cap_sys_admin,cap_setuid,cap_setgid (or setuid root);
 * docs/shiftfs-idmap-helper.8 and docs/SECURITY.md say why each rule.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "args.h"
#include "cleanup.h"
#include "fdpath.h"
#include "idmap_parse.h"
#include "idmount.h"
#include "mountinfo.h"
#include "policy.h"
#include "record.h"
#include "subid.h"
#include "syspath.h"

#define PROG "shiftfs-idmap-helper"
#ifndef HELPER_CONF
#define HELPER_CONF "/etc/shiftfs/helper.conf"
#endif
#define SUBUID_FILE "/etc/subuid"
#define SUBGID_FILE "/etc/subgid"
/* /proc/self/ns/user's inode in the initial user namespace. */
#define PROC_USER_INIT_INO 0xEFFFFFFDU

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_UNSUPPORTED = 3 };

/* Who called: real ids from the kernel, the rest from /etc files. */
struct caller {
	uid_t uid;
	gid_t gid;
	char name[256];
	struct subid_ranges uids, gids; /* the set A, uids and gids */
};

__attribute__((noreturn, format(printf, 2, 3))) static void
die(int code, const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

/*
 * A path or map for a message or syslog, as walk.c's walk_escape() writes
 * names: '\' as \\, control bytes, DEL and every byte >= 0x80 as \xNN
 * (no UTF-8 passes: no C1 control, direction override or look-alike
 * reaches a terminal or a log reader as itself). A buffer of 4 times
 * strlen(s) + 1 holds all of it.
 */
static const char *esc(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	for (; *s && o + 5 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\\')
			buf[o++] = '\\', buf[o++] = '\\';
		else if (c < 0x20 || c >= 0x7f)
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	buf[o] = '\0';
	return buf;
}

/* fds 0-2 that are closed get /dev/null, so that no file we open later
 * becomes someone's stdout; every other inherited fd is closed. */
static void sane_fds(void)
{
	int fd;

	for (fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF &&
		    open("/dev/null", O_RDWR) != fd)
			_exit(EXIT_FAIL);
	close_range(3, ~0U, 0);
}

/*
 * Keep exactly CAP_SYS_ADMIN (open_tree, mount_setattr, move_mount,
 * umount2), CAP_SETUID and CAP_SETGID (setfsuid/setfsgid, and writing a
 * uid_map/gid_map with ids other than our own), permitted and effective;
 * nothing inheritable or ambient. Installed setuid root instead, become
 * the caller first (keeping those three), so both installs run the same.
 */
static void drop_caps(void)
{
	static const cap_value_t keep[] = {CAP_SYS_ADMIN, CAP_SETUID,
					   CAP_SETGID};
	uid_t uid = getuid();
	cap_t caps;

	if (geteuid() != uid) {
		if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 ||
		    setresuid(uid, uid, uid) < 0 ||
		    prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
			_exit(EXIT_FAIL);
	}
	if (getegid() != getgid() &&
	    setresgid(getgid(), getgid(), getgid()) < 0)
		_exit(EXIT_FAIL);
	caps = cap_init();
	if (!caps ||
	    cap_set_flag(caps, CAP_PERMITTED, 3, keep, CAP_SET) < 0 ||
	    cap_set_flag(caps, CAP_EFFECTIVE, 3, keep, CAP_SET) < 0)
		_exit(EXIT_FAIL);
	if (cap_set_proc(caps) < 0) {
		static const char msg[] =
			PROG ": not installed with its capabilities "
			"(setcap cap_sys_admin,cap_setuid,cap_setgid+ep), nor "
			"setuid root\n";

		if (write(2, msg, sizeof(msg) - 1) < 0)
			_exit(EXIT_FAIL);
		_exit(EXIT_FAIL);
	}
	cap_free(caps);
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		_exit(EXIT_FAIL);
}

/* File system ids: the caller's (reaching SRC and MNT) or root's (the
 * state directory, the new user namespace's map files). */
static void as_caller(const struct caller *c)
{
	setfsgid(c->gid);
	setfsuid(c->uid);
	if ((uid_t)setfsuid((uid_t)-1) != c->uid ||
	    (gid_t)setfsgid((gid_t)-1) != c->gid)
		die(EXIT_FAIL, "cannot switch to the caller's ids");
}

static void as_root(void)
{
	setfsgid(0);
	setfsuid(0);
	if (setfsuid((uid_t)-1) != 0 || setfsgid((gid_t)-1) != 0)
		die(EXIT_FAIL, "cannot switch to root's file ids");
}

/*
 * For the locked section of a mount (records, mount, the checks after
 * it) all uids become root's (gids and groups stay the caller's; files
 * are reached with the caller's fsuid, see as_caller()): a process may
 * signal or prlimit() another only if its uid is the other's real or
 * saved uid, so the caller can no longer SIGSTOP the helper while it
 * holds the lock, SIGKILL it between move_mount and the checks after it,
 * or change its limits then. Not earlier: opening SRC and MNT may wait on
 * the caller's own FUSE server, and so may waiting for the caller's lock
 * (held by another helper of theirs): those waits must stay theirs to
 * kill, and nothing done as root's may look a name up in the caller's
 * filesystems (umount takes root's uids only for the record, after
 * umount2). The capabilities stay the three.
 */
static void root_uids(void)
{
	if (setresuid(0, 0, 0) < 0 || getuid() != 0 || geteuid() != 0)
		die(EXIT_FAIL, "cannot take root's uids: %s", strerror(errno));
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		_exit(EXIT_FAIL);
}

static void need_initial_userns(void)
{
	struct stat st;

	if (stat("/proc/self/ns/user", &st) < 0 ||
	    st.st_ino != PROC_USER_INIT_INO)
		die(EXIT_FAIL, "only usable from the initial user namespace");
}

static bool in_groups(gid_t g)
{
	static gid_t list[NGROUPS_MAX];
	int n = getgroups(NGROUPS_MAX, list), i;

	if (g == getgid())
		return true;
	for (i = 0; i < n; i++)
		if (list[i] == g)
			return true;
	return false;
}

/* The policy file: root's, not writable by others, or refuse to run. */
static void load_policy(struct helper_policy *p)
{
	static char buf[POLICY_FILE_MAX];
	_cleanup_close_ int fd = -1;
	struct shift_diag d = {""};
	struct stat st;
	ssize_t n;

	policy_defaults(p);
	fd = open(HELPER_CONF, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return;
	if (fd < 0)
		die(EXIT_FAIL, "%s: %s", HELPER_CONF, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & 022))
		die(EXIT_FAIL,
		    "%s: not a regular file owned by root and writable only "
		    "by root",
		    HELPER_CONF);
	n = read(fd, buf, sizeof(buf));
	if (n < 0)
		die(EXIT_FAIL, "%s: %s", HELPER_CONF, strerror(errno));
	if (n == (ssize_t)sizeof(buf))
		die(EXIT_FAIL, "%s: larger than %d bytes", HELPER_CONF,
		    POLICY_FILE_MAX);
	if (policy_parse(buf, (size_t)n, HELPER_CONF, p, &d) < 0)
		die(EXIT_FAIL, "%s", d.msg);
}

/* Dies unless the policy lets c use the helper. */
static void check_allowed(const struct helper_policy *p,
			  const struct caller *c)
{
	struct subid_ranges mine;
	struct shift_diag d = {""};
	size_t i;

	if (p->allow == POLICY_NONE)
		die(EXIT_FAIL, "%s: the helper is disabled (allow = none)",
		    HELPER_CONF);
	if (p->allow == POLICY_ALL)
		return;
	for (i = 0; i < p->ngroups; i++) {
		struct group *g = getgrnam(p->groups[i]);

		if (g && in_groups(g->gr_gid))
			return;
	}
	if (p->allow == POLICY_SUBUID &&
	    subid_read(SUBUID_FILE, c->name, true, c->uid, &mine, &d) == 0)
		return;
	die(EXIT_FAIL, "%s: user %s may not use the helper (allow = %s)",
	    HELPER_CONF, c->name,
	    p->allow == POLICY_SUBUID ? "subuid, and no " SUBUID_FILE " entry"
				      : "group, and in no allow-group");
}

static void load_caller(struct caller *c)
{
	struct shift_diag d = {""};
	struct passwd *pw;

	c->uid = getuid();
	c->gid = getgid();
	pw = getpwuid(c->uid);
	if (!pw || !pw->pw_name || strlen(pw->pw_name) >= sizeof(c->name))
		die(EXIT_FAIL, "uid %u has no passwd entry", (unsigned)c->uid);
	snprintf(c->name, sizeof(c->name), "%s", pw->pw_name);
	if (subid_own(SUBUID_FILE, c->name, c->uid, c->uid, &c->uids, &d) < 0 ||
	    subid_own(SUBGID_FILE, c->name, c->uid, pw->pw_gid, &c->gids,
		      &d) < 0)
		die(EXIT_FAIL, "%s", d.msg);
}

/* "993, 500000-565535" */
static const char *set_text(const struct subid_ranges *s, char *buf,
			    size_t len)
{
	size_t o = 0;
	uint32_t i;

	buf[0] = '\0';
	for (i = 0; i < s->n && o + 32 < len; i++) {
		uint32_t a = s->r[i].start, n = s->r[i].count;

		if (n == 1)
			o += (size_t)snprintf(buf + o, len - o, "%s%u",
					      i ? ", " : "", a);
		else
			o += (size_t)snprintf(buf + o, len - o, "%s%u-%u",
					      i ? ", " : "", a, a + (n - 1));
	}
	return buf;
}

/* Dies naming the first range of m with an id outside A on either side. */
static void check_map(const struct idmap *m, const struct subid_ranges *a,
		      const char *what)
{
	char buf[512];
	uint32_t i, miss;

	for (i = 0; i < m->n; i++) {
		const struct idmap_range *r = &m->r[i];
		bool disk = !subid_ranges_cover(a, r->disk, r->count, &miss);

		if (disk || !subid_ranges_cover(a, r->view, r->count, &miss))
			die(EXIT_FAIL,
			    "%s map range %u:%u:%u: %s id %u is not one of "
			    "yours (%s)",
			    what, r->disk, r->view, r->count,
			    disk ? "disk" : "view", miss,
			    set_text(a, buf, sizeof(buf)));
	}
}

static void parse_maps(const struct helper_args *a, struct idmaps *m)
{
	struct shift_diag d = {""};
	char eb[sizeof(d.msg) * 4];

	idmaps_init(m);
	if (idmap_parse_spec(&m->uid, a->uidmap, &d) < 0)
		die(EXIT_USAGE, "--uidmap: %s", esc(d.msg, eb, sizeof(eb)));
	if (idmap_parse_spec(&m->gid, a->gidmap, &d) < 0)
		die(EXIT_USAGE, "--gidmap: %s", esc(d.msg, eb, sizeof(eb)));
}

/* Open path (absolute, no symlink on it, no "..") as the caller: an O_PATH
 * fd of a directory outside the system trees. Dies otherwise. */
static int open_dir(const char *path, char *eb, size_t eblen)
{
	const char *why;
	int fd;

	why = syspath_why(path);
	if (why)
		die(EXIT_FAIL, "%s: refused: %s", esc(path, eb, eblen), why);
	fd = fdpath_open(path, O_DIRECTORY);
	if (fd == -ELOOP || fd == -ESTALE)
		die(EXIT_FAIL,
		    "%s: has a symlink, \"..\" or \".\" on it, or changed "
		    "while it was opened (give the canonical path)",
		    esc(path, eb, eblen));
	if (fd < 0)
		die(EXIT_FAIL, "%s: %s", esc(path, eb, eblen), strerror(-fd));
	return fd;
}

static bool mount_root(int fd)
{
	struct statx stx;

	return statx(fd, "", AT_EMPTY_PATH, 0, &stx) == 0 &&
	       (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
	       (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

/* Could the caller write the directory next (stat up), now or later?
 * Its mode is theirs to change when its owner is one of their uids (a
 * subordinate one through a user namespace of theirs), and its group bits
 * are theirs when its group is one of their gids. */
static bool writable(int next, const struct stat *up, const struct caller *c)
{
	if (subid_ranges_have(&c->uids, up->st_uid))
		return true;
	if ((up->st_mode & 0030) == 0030 &&
	    subid_ranges_have(&c->gids, up->st_gid))
		return true;
	/* AT_EACCESS: the fs ids (the caller's); the real uid is root's */
	return faccessat(next, "", W_OK | X_OK, AT_EMPTY_PATH | AT_EACCESS) ==
	       0;
}

/* Could the caller rename the directory cur (with stat st) out of its
 * parent next (stat up), now or after a chmod of their own? A mount
 * below it would move with it. */
static bool renamable(int cur, const struct stat *st, int next,
		      const struct stat *up, const struct caller *c)
{
	if (mount_root(cur))
		return false; /* a mount point: EBUSY */
	if (!writable(next, up, c))
		return false;
	return !(up->st_mode & S_ISVTX) ||
	       subid_ranges_have(&c->uids, st->st_uid) ||
	       subid_ranges_have(&c->uids, up->st_uid);
}

/* Dies unless the root (fd, stat st) of the mount holding a directory p
 * the caller can rename is a 0700 directory of the caller's own. */
static void check_territory(int fd, const struct stat *st, const char *p,
			    const struct caller *c, const char *mnt, char *eb,
			    size_t eblen)
{
	char r[PATH_MAX], rb[PATH_MAX * 4], pb[PATH_MAX * 4], why[64];

	if (st->st_uid == c->uid && !(st->st_mode & 077))
		return;
	if (fdpath_get(fd, r, sizeof(r)) < 0)
		snprintf(r, sizeof(r), "?");
	if (st->st_uid != c->uid)
		snprintf(why, sizeof(why), "belongs to uid %u",
			 (unsigned)st->st_uid);
	else
		snprintf(why, sizeof(why), "is mode %04o, not 0700",
			 (unsigned)(st->st_mode & 07777));
	die(EXIT_FAIL,
	    "%s: refused: you can rename %s, which would move the mount "
	    "anywhere you can write on the filesystem mounted at %s (its root "
	    "%s); mount where you cannot rename any directory above MNT "
	    "(like ~/mnt), or inside a mount whose root is your own 0700 "
	    "directory (like /run/user/%u)",
	    esc(mnt, eb, eblen), esc(p, pb, sizeof(pb)), esc(r, rb, sizeof(rb)),
	    why, (unsigned)c->uid);
}

/*
 * Dies unless every directory above fd is root's or one of the caller's
 * ids (MNT must not sit in someone else's tree), and the caller cannot
 * move the mount out of the mount holding it: a mount moves with a
 * renamed parent directory, anywhere the caller can write (another
 * user's 1777 directory, /run/lock). A rename cannot leave the mount it
 * is made in (EXDEV), and a mount's root cannot be renamed (EBUSY), so a
 * directory the caller can rename is harmless when the root of its mount
 * is a 0700 directory of the caller's own (a systemd /run/user/UID): it
 * moves only below that root, a path that stays where it is, among what
 * no one else can reach unless the caller lets them in.
 */
static void check_ancestors(int fd, const struct caller *c, const char *mnt,
			    char *eb, size_t eblen)
{
	_cleanup_close_ int cur = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	char p[PATH_MAX], pb[PATH_MAX * 4], moves[PATH_MAX] = "";
	struct stat st, up;
	int i;

	if (cur < 0 || fstat(cur, &st) < 0)
		die(EXIT_FAIL, "%s: %s", esc(mnt, eb, eblen), strerror(errno));
	for (i = 0; i < 4096; i++) {
		int next;

		/* cur ends the mount of the renamable ones below it */
		if (moves[0] && mount_root(cur)) {
			check_territory(cur, &st, moves, c, mnt, eb, eblen);
			moves[0] = '\0';
		}
		next = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (next < 0 || fstat(next, &up) < 0)
			die(EXIT_FAIL, "%s: %s", esc(mnt, eb, eblen),
			    strerror(errno));
		if (up.st_dev == st.st_dev && up.st_ino == st.st_ino) {
			close(next);
			if (moves[0]) /* "/" */
				check_territory(cur, &st, moves, c, mnt, eb,
						eblen);
			return;
		}
		if (up.st_uid != 0 && !subid_ranges_have(&c->uids, up.st_uid)) {
			if (fdpath_get(next, p, sizeof(p)) < 0)
				snprintf(p, sizeof(p), "?");
			close(next);
			die(EXIT_FAIL,
			    "%s: refused: inside %s, which belongs to uid %u",
			    esc(mnt, eb, eblen), esc(p, pb, sizeof(pb)),
			    (unsigned)up.st_uid);
		}
		/* MNT itself cannot be renamed once it is a mount point */
		if (i > 0 && !moves[0] && renamable(cur, &st, next, &up, c) &&
		    fdpath_get(cur, moves, sizeof(moves)) < 0)
			snprintf(moves, sizeof(moves), "?");
		close(cur);
		cur = next;
		st = up;
	}
	die(EXIT_FAIL, "%s: too deep", esc(mnt, eb, eblen));
}

struct below_ctx {
	const char *src;
	size_t len;
	char found[PATH_MAX];
};

static int below_visit(const struct mnt_entry *e, void *ctx)
{
	struct below_ctx *b = ctx;

	if (!strncmp(e->target, b->src, b->len) &&
	    (b->len == 1 || e->target[b->len] == '/') &&
	    e->target[b->len] != '\0') {
		snprintf(b->found, sizeof(b->found), "%s", e->target);
		return 1;
	}
	return 0;
}

/* The first mount point strictly below path in mountinfo, or NULL; dies
 * when mountinfo cannot be read (no check passes for an error). */
static const char *mounted_below(const char *path)
{
	static struct below_ctx b;
	int r;

	b.src = path;
	b.len = strlen(path);
	r = mnt_foreach(below_visit, &b);
	if (r < 0)
		die(EXIT_FAIL, "/proc/self/mountinfo: %s", strerror(-r));
	return r > 0 ? b.found : NULL;
}

/* SRC, checked: a directory owned by an id in A, with no mount below it
 * (only SRC's own mount is cloned: a non-recursive clone of a tree with
 * submounts would show what they cover). */
static int open_src(const char *src, const struct caller *c)
{
	char eb[PATH_MAX * 4];
	const char *below;
	struct stat st;
	int fd = open_dir(src, eb, sizeof(eb));

	if (fstat(fd, &st) < 0)
		die(EXIT_FAIL, "%s: %s", esc(src, eb, sizeof(eb)),
		    strerror(errno));
	if (!subid_ranges_have(&c->uids, st.st_uid))
		die(EXIT_FAIL,
		    "%s: refused: owned by uid %u, which is not one of yours",
		    esc(src, eb, sizeof(eb)), (unsigned)st.st_uid);
	below = mounted_below(src);
	if (below) {
		char fb[PATH_MAX * 4];

		die(EXIT_FAIL,
		    "%s: refused: %s is mounted below it (the helper mounts "
		    "one filesystem, without its submounts)",
		    esc(src, eb, sizeof(eb)), esc(below, fb, sizeof(fb)));
	}
	return fd;
}

/* MNT, checked: a directory the caller owns, not a mount point, not in
 * anyone else's tree. */
static int open_mnt(const char *mnt, const struct caller *c)
{
	char eb[PATH_MAX * 4];
	struct statx stx;
	int fd = open_dir(mnt, eb, sizeof(eb));

	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW,
		  STATX_UID | STATX_TYPE, &stx) < 0)
		die(EXIT_FAIL, "%s: %s", esc(mnt, eb, sizeof(eb)),
		    strerror(errno));
	if ((stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
	    (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT))
		die(EXIT_FAIL, "%s: refused: already a mount point",
		    esc(mnt, eb, sizeof(eb)));
	if (stx.stx_uid != c->uid)
		die(EXIT_FAIL, "%s: refused: owned by uid %u, not by you",
		    esc(mnt, eb, sizeof(eb)), (unsigned)stx.stx_uid);
	check_ancestors(fd, c, mnt, eb, sizeof(eb));
	return fd;
}

/*
 * A caller without /etc/subgid ranges cannot drop a group (newgidmap
 * denies setgroups for a map of only their own gid, CVE-2018-7169): every
 * group they are in must show as itself on the mount, or a file of group
 * G with mode 0604 (everyone but G) would be readable to them there. So
 * each of their groups the gid map leaves out is added as G:G:1 (they are
 * in it: no id they do not hold), and one the map sends elsewhere is
 * refused.
 */
static void keep_groups(struct idmap *gm, const struct caller *c)
{
	static gid_t list[NGROUPS_MAX + 1];
	struct shift_diag d = {""};
	int n = getgroups(NGROUPS_MAX, list), i;
	uint32_t v;

	if (c->gids.n > 1)
		return; /* they have subordinate gids: newgidmap lets them */
	if (n < 0)
		die(EXIT_FAIL, "getgroups: %s", strerror(errno));
	list[n++] = getgid();
	for (i = 0; i < n; i++) {
		uint32_t g = (uint32_t)list[i];

		if (idmap_to_view(gm, g, &v) == 0) {
			if (v != g)
				die(EXIT_FAIL,
				    "gid map: disk gid %u, one of your groups, "
				    "must map to itself (you have no %s range "
				    "to drop it with)",
				    g, SUBGID_FILE);
			continue;
		}
		if (idmap_to_disk(gm, g, &v) == 0)
			die(EXIT_FAIL,
			    "gid map: view gid %u, one of your groups, must "
			    "map to itself (you have no %s range)",
			    g, SUBGID_FILE);
		if (idmap_add(gm, g, g, 1, &d) < 0)
			die(EXIT_FAIL, "gid map with your groups: %s", d.msg);
	}
}

static void block_signals(void)
{
	sigset_t all;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
}

/* What record_first() needs: it runs between mount_setattr and
 * move_mount, so that a caller who kills the helper after the mount is
 * attached still has it counted, recorded (theirs to unmount) and logged. */
struct pre_move {
	const struct helper_args *a;
	const struct caller *c;
	const struct idmaps *m;
	struct helper_recs *recs;
	int dir, id;
	bool saved;
};

static int record_first(int tree, void *ctx)
{
	static char us[IDMAP_MAX_RANGES * 36], gs[IDMAP_MAX_RANGES * 36];
	char sb[PATH_MAX * 4], mb[PATH_MAX * 4];
	struct pre_move *pm = ctx;
	unsigned long long uniq;
	int r;

	r = mnt_id_at(tree, "", &pm->id, &uniq);
	if (r < 0)
		return r;
	pm->recs->r[pm->recs->n++] = (struct helper_rec){pm->id, uniq};
	r = rec_save(pm->dir, pm->c->uid, pm->recs);
	if (r < 0) {
		pm->recs->n--;
		return r;
	}
	pm->saved = true;
	idmap_format_spec(&pm->m->uid, us, sizeof(us));
	idmap_format_spec(&pm->m->gid, gs, sizeof(gs));
	syslog(LOG_NOTICE,
	       "uid %u (%s) mounted %s on %s, mount id %d, uid map %s, gid "
	       "map %s, nosuid,nodev%s",
	       (unsigned)pm->c->uid, pm->c->name,
	       esc(pm->a->src, sb, sizeof(sb)), esc(pm->a->mnt, mb, sizeof(mb)),
	       pm->id, us, gs, pm->a->read_only ? ",ro" : "");
	return 0;
}

/* Take back a mount (or its record) that must not stay. */
static void undo(struct pre_move *pm, int tree)
{
	char via[64];

	if (tree >= 0) {
		snprintf(via, sizeof(via), "/proc/self/fd/%d", tree);
		umount2(via, MNT_DETACH);
	}
	if (pm->saved) {
		pm->recs->n--;
		rec_save(pm->dir, pm->c->uid, pm->recs);
		syslog(LOG_NOTICE, "uid %u (%s): mount id %d taken back",
		       (unsigned)pm->c->uid, pm->c->name, pm->id);
	}
}

/* The caller's record directory, locked (rec_dir_open); dies if it is not
 * root's 0700 directory or cannot be had. */
static int state_dir(uid_t uid)
{
	int dir = rec_dir_open(uid);

	if (dir < 0)
		die(EXIT_FAIL, "%s: %s", HELPER_STATE_DIR,
		    dir == -EPERM ? "not root's 0700 directory"
				  : strerror(-dir));
	return dir;
}

static int cmd_mount(const struct helper_args *a, const struct caller *c,
		     const struct helper_policy *p)
{
	static struct idmaps m;
	static struct helper_recs recs;
	char sb[PATH_MAX * 4], mb[PATH_MAX * 4], now[PATH_MAX];
	struct pre_move pm = {a, c, &m, &recs, -1, -1, false};
	struct idmount_opts io = {a->read_only, false, false, true, true,
				  record_first, &pm};
	_cleanup_close_ int src = -1, mnt = -1, dir = -1, tree = -1;
	struct shift_diag d = {""};
	enum idmount_stage stage;
	char why[256];
	int r;

	parse_maps(a, &m);
	check_map(&m.uid, &c->uids, "uid");
	check_map(&m.gid, &c->gids, "gid");
	keep_groups(&m.gid, c);
	as_caller(c);
	src = open_src(a->src, c);
	mnt = open_mnt(a->mnt, c);

	/* The caller's own lock is waited for with the caller's uids (a
	 * wait they can end), and held as root's from then on. */
	as_root();
	dir = state_dir(c->uid);
	block_signals();
	root_uids();
	as_root();
	pm.dir = dir;
	r = rec_load(dir, c->uid, &recs);
	if (r < 0)
		die(EXIT_FAIL, "%s/%u: %s", HELPER_STATE_DIR,
		    (unsigned)c->uid, strerror(-r));
	if (recs.n >= p->max_mounts)
		die(EXIT_FAIL,
		    "refused: you have %zu helper mounts, the most allowed "
		    "(max-mounts = %u in %s)",
		    recs.n, p->max_mounts, HELPER_CONF);

	tree = idmount_mount(src, a->src, mnt, a->mnt, &m, &io, &stage, &d);
	if (tree < 0) {
		undo(&pm, -1);
		if (idmount_unsupported(stage, -tree, why, sizeof(why)))
			die(EXIT_UNSUPPORTED, "%s: %s (%s)",
			    esc(a->src, sb, sizeof(sb)), why,
			    esc(d.msg, mb, sizeof(mb)));
		die(EXIT_FAIL, "%s", esc(d.msg, sb, sizeof(sb)));
	}
	/* MNT was checked as an fd; the caller may have renamed it since.
	 * Now a mount point, it stays where it is: it must be a->mnt. */
	r = fdpath_get(mnt, now, sizeof(now));
	if (r < 0 || strcmp(now, a->mnt)) {
		undo(&pm, tree);
		die(EXIT_FAIL,
		    "%s: moved while it was checked (nothing was left mounted)",
		    esc(a->mnt, sb, sizeof(sb)));
	}
	return EXIT_OK;
}


static int cmd_umount(const struct helper_args *a, const struct caller *c)
{
	static struct helper_recs recs;
	static struct mnt_entry e;
	char mb[PATH_MAX * 4], fb[PATH_MAX * 4], via[PATH_MAX + 64];
	const char *below;
	_cleanup_close_ int pfd = -1, dir = -1;
	unsigned long long uniq, u2;
	const char *name;
	size_t i;
	int id, now, r;

	as_caller(c);
	r = mnt_id_of_path(a->mnt, &pfd, &name, &id, &uniq); /* as the caller */
	if (r == -ELOOP || r == -ESTALE)
		die(EXIT_FAIL,
		    "%s: has a symlink or \"..\" on it, or changed while it "
		    "was opened (give the canonical path)",
		    esc(a->mnt, mb, sizeof(mb)));
	if (r < 0)
		die(EXIT_FAIL, "%s: %s", esc(a->mnt, mb, sizeof(mb)),
		    strerror(-r));
	if (mnt_by_id(id, &e) < 0 || strcmp(e.target, a->mnt))
		die(EXIT_FAIL, "%s: not a mount point",
		    esc(a->mnt, mb, sizeof(mb)));

	/* Lock, checks, the second lookup and the unmount keep the caller's
	 * uids: MNT's parent may be their own FUSE filesystem, whose server
	 * need never answer a lookup, and that wait (or one on the lock they
	 * hold) must stay theirs to kill. Killed after the unmount, the
	 * record goes at the next rec_load() (its mount is gone). */
	as_root();
	dir = state_dir(c->uid);
	r = rec_load(dir, c->uid, &recs);
	if (r < 0)
		die(EXIT_FAIL, "%s/%u: %s", HELPER_STATE_DIR,
		    (unsigned)c->uid, strerror(-r));
	for (i = 0; i < recs.n; i++)
		if (recs.r[i].id == id && recs.r[i].uniq == uniq)
			break;
	if (i == recs.n || !mnt_is_idmapped(&e))
		die(EXIT_FAIL,
		    "%s: refused: not a mount this helper made for you",
		    esc(a->mnt, mb, sizeof(mb)));

	/* Nothing below it: a lazy unmount would take others' mounts with
	 * it (root's, inside MNT), and a plain one fails busy anyway. */
	below = mounted_below(a->mnt);
	if (below)
		die(EXIT_FAIL,
		    "%s: refused: %s is mounted below it (unmount that first)",
		    esc(a->mnt, mb, sizeof(mb)), esc(below, fb, sizeof(fb)));

	/* The same name under the same pinned parent, checked once more. */
	as_caller(c);
	if (mnt_id_at(pfd, name, &now, &u2) < 0 || now != id)
		die(EXIT_FAIL, "%s: changed while it was checked; nothing done",
		    esc(a->mnt, mb, sizeof(mb)));
	snprintf(via, sizeof(via), "/proc/self/fd/%d/%s", pfd, name);
	if (umount2(via, UMOUNT_NOFOLLOW | (a->lazy ? MNT_DETACH : 0)) < 0)
		die(EXIT_FAIL, "%s: %s", esc(a->mnt, mb, sizeof(mb)),
		    strerror(errno));
	block_signals();
	root_uids();
	as_root();
	recs.r[i] = recs.r[--recs.n];
	r = rec_save(dir, c->uid, &recs);
	syslog(LOG_NOTICE, "uid %u (%s) unmounted %s, mount id %d%s",
	       (unsigned)c->uid, c->name, esc(a->mnt, mb, sizeof(mb)), id,
	       r < 0 ? " (the record could not be updated)" : "");
	return EXIT_OK;
}

static void usage(void)
{
	printf("Usage:\n"
	       " " PROG " mount [--read-only] --uidmap=SPEC --gidmap=SPEC "
	       "SRC MNT\n"
	       " " PROG " umount [--lazy] MNT\n"
	       "\n"
	       "Make a kernel idmapped mount of SRC on MNT (nosuid,nodev) "
	       "for the calling\nuser, with every id of both sides of the "
	       "maps among the caller's own:\ntheir uid and %s ranges, "
	       "their primary gid and %s ranges.\nSRC and MNT are "
	       "canonical absolute paths; SPEC is DISK:VIEW:COUNT,...\n"
	       "Policy: %s. Usually run by shiftctl mount.\n"
	       "\n"
	       " -h, --help     display this help\n"
	       " -V, --version  display version\n"
	       "\n"
	       "For more details see shiftfs-idmap-helper(8).\n",
	       SUBUID_FILE, SUBGID_FILE, HELPER_CONF);
}

int main(int argc, char **argv)
{
	static struct caller c;
	struct helper_policy p;
	struct helper_args a;
	struct shift_diag d = {""};

	sane_fds();
	drop_caps();
	if (clearenv() != 0)
		_exit(EXIT_FAIL);
	umask(077);
	if (helper_args_parse(argc, argv, &a, &d) < 0) {
		char eb[sizeof(d.msg) * 4];

		die(EXIT_USAGE, "%s\nTry '" PROG " --help'.",
		    esc(d.msg, eb, sizeof(eb)));
	}
	if (a.cmd == HELPER_HELP) {
		usage();
		return EXIT_OK;
	}
	if (a.cmd == HELPER_VERSION) {
		printf(PROG " " SHIFT_VERSION "\n");
		return EXIT_OK;
	}
	need_initial_userns();
	openlog(PROG, LOG_PID, LOG_AUTHPRIV);
	load_caller(&c);
	as_root(); /* helper.conf may be root's alone */
	load_policy(&p);
	as_caller(&c);
	if (a.cmd == HELPER_MOUNT) {
		check_allowed(&p, &c);
		return cmd_mount(&a, &c, &p);
	}
	return cmd_umount(&a, &c);
}
