/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The idmap setuid-source rule (docs/SECURITY.md, "shiftctl mount, umount
 * and status", rule 5). The kernel cannot be told to refuse setuid/setgid
 * bits or file capabilities made through an idmapped mount, so one whose
 * map lets a non-root view id own a disk id its holders lack
 * (privileged_owner, with subid_held) is made only when SRC's files cannot
 * honour them natively (src_nosuid) or only root can reach them
 * (src_root_only, with its bind-mount bypass check), or with
 * --allow-suid-src. Gathers facts from the fds and mountinfo; decides.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "mount_int.h"
#include "mounts.h"
#include "subid.h"

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
static bool src_nosuid(const struct mount_result *r)
{
	static struct nosuid_ctx c;
	static struct mnt_entry e;
	unsigned long long uniq;
	struct statvfs sv;
	int id;

	if (fstatvfs(r->src_fd, &sv) < 0 || !(sv.f_flag & ST_NOSUID))
		return false;
	if (mnt_id_at(r->src_fd, "", &id, &uniq) < 0 || mnt_by_id(id, &e) < 0)
		return false;
	memset(&c, 0, sizeof(c));
	c.src = r->src;
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
bool idmap_suid_refused(const struct mount_opts *o,
			const struct mount_result *r, const struct idmaps *m,
			char *why, size_t len)
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
	if (src_nosuid(r) || src_root_only(r->src_fd))
		return false;
	snprintf(why, len,
		 "view %s %u would own disk %s %u in SRC, which is not "
		 "nosuid and not reachable only by root: a setuid file made "
		 "through the mount would work natively",
		 kind, view, kind, disk);
	return true;
}
