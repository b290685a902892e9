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

#include "cleanup.h"
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

/* p is dir or below it (strict: below only); both canonical. */
static bool path_below(const char *p, const char *dir, bool strict)
{
	size_t n = strlen(dir);

	if (!strcmp(dir, "/"))
		return !strict || strcmp(p, "/") != 0;
	if (strncmp(p, dir, n))
		return false;
	return p[n] == '/' || (!strict && p[n] == '\0');
}

static bool where(int fd, struct mnt_entry *m, char *rel, size_t len);

/* What the idmapped tree shows: SRC's filesystem from SRC's directory of
 * it down, and each submount's from its root (set by tree_parts()). */
#define MAX_PARTS 64
static struct part {
	unsigned int major, minor;
	char rel[PATH_MAX];
} parts[MAX_PARTS];
static size_t nparts;
static bool parts_cut; /* more submounts than fit: every overlay meets */

static void add_part(unsigned int major, unsigned int minor, const char *rel)
{
	if (nparts == MAX_PARTS) {
		parts_cut = true;
		return;
	}
	parts[nparts].major = major;
	parts[nparts].minor = minor;
	snprintf(parts[nparts++].rel, PATH_MAX, "%s", rel);
}

static int collect_part(const struct mnt_entry *e, void *ctx)
{
	const char *src = ctx;

	if (path_below(e->target, src, true))
		add_part(e->major, e->minor, e->root);
	return 0;
}

static void tree_parts(int src_fd, const char *src)
{
	static struct mnt_entry m;
	static char rel[PATH_MAX];

	nparts = 0;
	parts_cut = !where(src_fd, &m, rel, sizeof(rel));
	if (!parts_cut)
		add_part(m.major, m.minor, rel);
	if (mnt_foreach(collect_part, (void *)src) < 0)
		parts_cut = true;
}

/*
 * Does one overlay layer (a path as the overlay shows it) show some of the
 * tree: the same filesystem, a directory in, above or below a part? Judged
 * by device and path within the filesystem, so a bind mount of SRC used as
 * the layer counts too. A layer we cannot open counts as meeting.
 */
static bool layer_meets(const char *layer)
{
	static struct mnt_entry m;
	static char rel[PATH_MAX];
	_cleanup_close_ int fd = -1;
	size_t i;

	if (parts_cut || layer[0] != '/')
		return true;
	fd = open(layer, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || !where(fd, &m, rel, sizeof(rel)))
		return true;
	for (i = 0; i < nparts; i++)
		if (m.major == parts[i].major && m.minor == parts[i].minor &&
		    (path_below(rel, parts[i].rel, false) ||
		     path_below(parts[i].rel, rel, false)))
			return true;
	return false;
}

/*
 * An overlay whose layers (lowerdir, upperdir, datadir: overlay escapes ',',
 * ':' and '\' in them with '\') meet SRC shows SRC's files under another
 * device number, where its own mount options decide setuid: another way in
 * that neither the device nor the guard check sees. Unparsable options
 * count as meeting.
 */
static bool overlay_meets(const struct mnt_entry *e)
{
	char layer[PATH_MAX];
	const char *p = e->super;
	bool in_layers = false;
	size_t o = 0;

	if (strcmp(e->fstype, "overlay"))
		return false;
	if (e->super_cut)
		return true;
	for (;; p++) {
		if (o + 2 >= sizeof(layer))
			return true; /* a layer path longer than PATH_MAX */
		if (*p == '\\' && p[1]) {
			layer[o++] = *++p;
			continue;
		}
		if (*p == ',' || *p == ':' || *p == '\0') {
			layer[o] = '\0';
			if (in_layers && o && layer_meets(layer))
				return true;
			o = 0;
			if (*p == '\0')
				return false;
			if (*p == ',')
				in_layers = false;
			continue;
		}
		if (*p == '=' && !in_layers) {
			layer[o] = '\0';
			in_layers = !strcmp(layer, "lowerdir") ||
				    !strcmp(layer, "upperdir") ||
				    !strcmp(layer, "datadir") ||
				    !strcmp(layer, "lowerdir+") ||
				    !strcmp(layer, "datadir+");
			o = 0;
			continue;
		}
		layer[o++] = *p;
	}
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

	if ((has_dev(c, e) || overlay_meets(e)) &&
	    !mnt_opt_has(e->opts, "nosuid")) {
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

/*
 * The directory fd (on mount m) as a path within its filesystem: m's root
 * plus the part of fd's path below m's mount point.
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

/* The root-only directory that guards SRC: its path, filesystem, and path
 * within that filesystem. */
struct guard {
	char abs[PATH_MAX];
	unsigned int major, minor;
	char rel[PATH_MAX];
};

/* One part of the tree the idmapped mount carries: a filesystem and the
 * directory of it that the tree shows (SRC's, or a submount's root). */
struct reach_ctx {
	const struct guard *g;
	unsigned int major, minor;
	const char *rel;
	bool bypass;
};

/*
 * Every mount of the part's filesystem that shows some of the part must
 * be reached through the guard: mounted below it, or the guard lies in
 * that same filesystem between the mount's root and the part.
 */
static int reach_part(const struct mnt_entry *e, void *ctx)
{
	struct reach_ctx *c = ctx;
	const struct guard *g = c->g;

	if (overlay_meets(e) && !path_below(e->target, g->abs, true)) {
		c->bypass = true; /* SRC's files under another device */
		return 1;
	}
	if (e->major != c->major || e->minor != c->minor)
		return 0;
	if (!path_below(c->rel, e->root, false) &&
	    !path_below(e->root, c->rel, false))
		return 0; /* shows another part of the filesystem */
	if (path_below(e->target, g->abs, true))
		return 0;
	if (e->major == g->major && e->minor == g->minor &&
	    path_below(g->rel, e->root, false) &&
	    path_below(c->rel, g->rel, true))
		return 0;
	c->bypass = true;
	return 1;
}

/* fd's mount entry and fd's path within that filesystem. */
static bool where(int fd, struct mnt_entry *m, char *rel, size_t len)
{
	unsigned long long uniq;
	int id;

	return mnt_id_at(fd, "", &id, &uniq) == 0 && mnt_by_id(id, m) == 0 &&
	       fs_relative(fd, m, rel, len);
}

/* The first root-only directory strictly above SRC, walked by ".." on
 * fds (across mount points, as a path to SRC goes). */
static bool find_guard(int src_fd, struct guard *g)
{
	static struct mnt_entry m;
	char link[64];
	ssize_t n;
	int fd, up, i;
	bool found = false;

	fd = openat(src_fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
	for (i = 0; fd >= 0 && i < 4096 && !found; i++) {
		if (root_only_dir(fd)) {
			found = true;
			break;
		}
		if (is_root_dir(fd))
			break;
		up = openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		close(fd);
		fd = up;
	}
	if (found) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, g->abs, sizeof(g->abs) - 1);
		found = n > 0 && where(fd, &m, g->rel, sizeof(g->rel));
		if (found) {
			g->abs[n] = '\0';
			g->major = m.major;
			g->minor = m.minor;
		}
	}
	if (fd >= 0)
		close(fd);
	return found;
}

/*
 * Can nobody but root reach SRC's files natively? A root-only directory
 * (the guard) stands strictly above SRC — not SRC itself, which the view's
 * holders can chmod through the mount — and every way into what the
 * idmapped tree shows passes it: each mount of SRC's filesystem, and of
 * each submount's, is mounted below the guard or has the guard between its
 * root and the part shown (a bind mount of SRC, or of a directory between,
 * mounted elsewhere would bypass it). Mount namespaces other than ours are
 * not seen.
 */
static bool src_root_only(int src_fd)
{
	static struct guard g;
	struct reach_ctx c;
	size_t i;

	if (parts_cut || !find_guard(src_fd, &g))
		return false;
	/* each part of the tree (tree_parts(): SRC's, then submounts') */
	for (i = 0; i < nparts; i++) {
		memset(&c, 0, sizeof(c));
		c.g = &g;
		c.major = parts[i].major;
		c.minor = parts[i].minor;
		c.rel = parts[i].rel;
		if (mnt_foreach(reach_part, &c) < 0 || c.bypass)
			return false;
	}
	return nparts > 0;
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
	tree_parts(r->src_fd, r->src); /* the overlay test, the root-only rule */
	if (src_nosuid(r) || src_root_only(r->src_fd))
		return false;
	snprintf(why, len,
		 "view %s %u would own disk %s %u in SRC, which is not "
		 "nosuid and not reachable only by root: a setuid file made "
		 "through the mount would work natively",
		 kind, view, kind, disk);
	return true;
}
