/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The facts: the mount PATH is on (flags, filesystem type, whether it is a
 * shifted view), SELinux, and a walk of the tree that stays on PATH's
 * filesystem, reading each entry's owner, mode and access ACL and handing
 * it to the verdicts with its parent's.
 *
 * Everything is read from fds, never by name: PATH is opened once, checked
 * (open_root()), and each entry is opened O_PATH | O_NOFOLLOW relative to
 * its directory's fd; its stat, its ACL (through /proc/self/fd/N) and, for
 * a directory, the fd the walk goes on from all come from that one open.
 * Whoever owns a directory in the tree can rename and swap its entries
 * while root reads them, but cannot make root read one inode's owner and
 * another's ACL, or follow a symlink out of the tree.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/acl.h>
#include <acl/libacl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "cleanup.h"
#include "doctor_int.h"
#include "fdpath.h"
#include "mount.h"
#include "progress.h"

/* opt is one of the comma-separated mount options in opts. */
static bool has_opt(const char *opts, const char *opt)
{
	size_t n = strlen(opt);

	for (const char *p = opts; p; p = strchr(p, ',')) {
		if (*p == ',')
			p++;
		if (!strncmp(p, opt, n) && (p[n] == ',' || !p[n]))
			return true;
	}
	return false;
}

/* The mount PATH is on: /proc/self/mountinfo, longest matching prefix. */
void find_mount(struct doctor *dr)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[8192];
	size_t best = 0;
	struct statvfs sv;

	if (fstatvfs(dr->root_fd, &sv) == 0) {
		dr->rofs = sv.f_flag & ST_RDONLY;
		dr->noexec = sv.f_flag & ST_NOEXEC;
		dr->nosuid = sv.f_flag & ST_NOSUID;
	}
	while (f && fgets(line, sizeof(line), f)) {
		char mp[PATH_MAX], fs[64], opts[1024], *sep, *o;
		const char *s;
		size_t n;

		if (sscanf(line, "%*s %*s %*s %*s %4095s %1023s", mp, opts) !=
		    2)
			continue;
		/* undo the \040-style octal escapes */
		for (s = mp, o = mp; *s; s++) {
			if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
			    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' &&
			    s[3] <= '7') {
				*o++ = (char)((s[1] - '0') * 64 +
					      (s[2] - '0') * 8 + (s[3] - '0'));
				s += 3;
			} else {
				*o++ = *s;
			}
		}
		*o = '\0';
		n = strlen(mp);
		if (strncmp(dr->realpath, mp, n) != 0)
			continue;
		if (!(n == 1 || dr->realpath[n] == '/' ||
		      dr->realpath[n] == '\0'))
			continue;
		if (n < best)
			continue;
		sep = strstr(line, " - ");
		if (!sep || sscanf(sep + 3, "%63s", fs) != 1)
			continue;
		best = n;
		bfmt(dr->mnt_point, sizeof(dr->mnt_point), "%s", mp);
		bfmt(dr->fstype, sizeof(dr->fstype), "%s", fs);
		dr->shifted_view = !strncmp(fs, "fuse.shiftfs", 12) ||
				   has_opt(opts, "idmapped");
	}
}

bool selinux_enforcing(void)
{
	char buf[8] = "";
	_cleanup_fclose_ FILE *f = fopen("/sys/fs/selinux/enforce", "re");

	return f && fgets(buf, sizeof(buf), f) && buf[0] == '1';
}

/*
 * An id as judged. Read through the source of a recorded shifted mount:
 * the id the mount shows, ACCESS_ID_INVALID when its map leaves it out.
 * On a shifted view read directly, an id shown as the kernel's overflow id
 * is an unmapped one, which matches nobody (DESIGN.md: "shown, never
 * matched"). Elsewhere 65534 is a real owner.
 */
static uint32_t view_id(const struct doctor *dr, uint32_t id, bool uid)
{
	uint32_t v;

	if (dr->via_source)
		return idmap_to_view(uid ? &dr->view_maps.uid
					 : &dr->view_maps.gid,
				     id, &v) == 0
			       ? v
			       : ACCESS_ID_INVALID;
	return dr->shifted_view && id == (uid ? dr->kernel_ov_uid
					      : dr->kernel_ov_gid)
		       ? ACCESS_ID_INVALID
		       : id;
}

/* One map of a state record ([{disk, view, count}]) into m. */
static bool record_map(struct json_object *rec, const char *key,
		       struct idmap *m)
{
	struct json_object *a, *e, *v;
	struct shift_diag d = {""};
	int64_t f[3];
	size_t i, k;
	static const char *const names[] = {"disk", "view", "count"};

	idmap_init(m);
	if (!json_object_object_get_ex(rec, key, &a) ||
	    !json_object_is_type(a, json_type_array))
		return false;
	for (i = 0; i < json_object_array_length(a); i++) {
		e = json_object_array_get_idx(a, i);
		for (k = 0; k < 3; k++) {
			if (!json_object_object_get_ex(e, names[k], &v) ||
			    !json_object_is_type(v, json_type_int))
				return false;
			f[k] = json_object_get_int64(v);
			if (f[k] < 0 || f[k] > UINT32_MAX)
				return false;
		}
		if (idmap_add(m, (uint32_t)f[0], (uint32_t)f[1], (uint32_t)f[2],
			      &d) < 0)
			return false;
	}
	return m->n > 0;
}

/*
 * The source of the recorded mount PATH is on, PATH's place in it opened
 * like PATH itself (fdpath_open), and the mount's maps, when the record is
 * of this very mount (its mount id) and the source's entry is the inode
 * the mount shows at PATH (same inode number and type).
 */
static bool open_view_source(struct doctor *dr, struct json_object *rec,
			     int mnt_id)
{
	const char *src = state_str(rec, "source");
	const char *rel = dr->realpath + strlen(dr->mnt_point);
	char want[PATH_MAX * 2], real[PATH_MAX];
	struct stat vs, ss;
	int fd;

	if (state_int(rec, "mount_id") != mnt_id || src[0] != '/')
		return false;
	if (!strcmp(dr->mnt_point, "/"))
		rel = dr->realpath;
	if (!record_map(rec, "uid_map", &dr->view_maps.uid) ||
	    !record_map(rec, "gid_map", &dr->view_maps.gid))
		return false;
	bfmt(want, sizeof(want), "%s%s", strcmp(src, "/") ? src : "",
	     *rel ? rel : "");
	if (!want[0] || !realpath(want, real))
		return false;
	fd = fdpath_open(real, O_NOFOLLOW);
	if (fd < 0)
		return false;
	/* An idmapped mount shows the source's own superblock: the same
	 * device too. (shiftfs passes inode numbers through.) */
	if (fstat(fd, &ss) < 0 || fstat(dr->root_fd, &vs) < 0 ||
	    ss.st_ino != vs.st_ino ||
	    (ss.st_mode & S_IFMT) != (vs.st_mode & S_IFMT) ||
	    (!strcmp(state_str(rec, "backend"), "idmap") &&
	     ss.st_dev != vs.st_dev)) {
		close(fd);
		return false;
	}
	dr->src_fd = fd;
	bfmt(dr->view_src, sizeof(dr->view_src), "%s", real);
	return true;
}

void find_view_source(struct doctor *dr)
{
	struct json_object *list = NULL;
	struct statx sx;
	int err;
	size_t i;

	if (!dr->shifted_view || !dr->mnt_point[0])
		return;
	if (statx(dr->root_fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW,
		  STATX_MNT_ID, &sx) < 0 ||
	    !(sx.stx_mask & STATX_MNT_ID))
		return;
	if (mount_status_list(dr->mnt_point, &list, &err) < 0 || !list)
		return;
	for (i = 0; i < json_object_array_length(list); i++) {
		struct json_object *rec = json_object_array_get_idx(list, i);

		if (open_view_source(dr, rec, (int)sx.stx_mnt_id)) {
			dr->view_maps.overflow_uid = dr->kernel_ov_uid;
			dr->view_maps.overflow_gid = dr->kernel_ov_gid;
			dr->via_source = true;
			break;
		}
	}
	json_object_put(list);
}

static void note_error(struct doctor *dr, const char *fmt, const char *a,
		       int err);

int open_root(struct doctor *dr)
{
	return fdpath_open(dr->realpath, O_NOFOLLOW);
}

/*
 * Read the access ACL of the inode fd is open on (O_PATH, not a symlink),
 * through /proc/self/fd/N: that inode's, whatever its name points to now.
 * NULL acl when it has only the base three.
 */
static void read_acl(struct doctor *dr, int fd, const char *full,
		     struct node *n)
{
	char proc[64];
	acl_t acl;
	acl_entry_t e;
	size_t k = 0;
	int id = ACL_FIRST_ENTRY;

	n->ino.acl = NULL;
	n->ino.acl_n = 0;
	bfmt(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	acl = acl_get_file(proc, ACL_TYPE_ACCESS);
	if (!acl) {
		if (errno != ENOTSUP && errno != ENODATA)
			note_error(dr, "%s: %s", full, errno);
		return;
	}
	while (acl_get_entry(acl, id, &e) == 1 && k < ACL_MAX) {
		acl_tag_t tag;
		acl_permset_t ps;
		void *q;

		id = ACL_NEXT_ENTRY;
		if (acl_get_tag_type(e, &tag) < 0 ||
		    acl_get_permset(e, &ps) < 0)
			continue;
		n->acl[k].tag = (uint16_t)tag;
		n->acl[k].perm =
			(acl_get_perm(ps, ACL_READ) == 1 ? ACCESS_R : 0) |
			(acl_get_perm(ps, ACL_WRITE) == 1 ? ACCESS_W : 0) |
			(acl_get_perm(ps, ACL_EXECUTE) == 1 ? ACCESS_X : 0);
		n->acl[k].id = 0;
		if (tag == ACL_USER || tag == ACL_GROUP) {
			q = acl_get_qualifier(e);
			if (q) {
				n->acl[k].id = view_id(dr, *(uint32_t *)q,
						       tag == ACL_USER);
				acl_free(q);
			}
		}
		k++;
	}
	acl_free(acl);
	if (k > 3) {
		n->ino.acl = n->acl;
		n->ino.acl_n = k;
		dr->acl_entries++;
	}
}

static void note_error(struct doctor *dr, const char *fmt, const char *a,
		       int err)
{
	char buf[PATH_MAX + 200];

	(void)fmt;
	bfmt(buf, sizeof(buf), "%s: %s", a, strerror(err));
	if (!dr->first_error)
		dr->first_error = xstrdup(buf);
}

/* One entry's facts (fd: O_PATH on it, st: its fstat): its owners as
 * judged, its ACL; then its verdicts. */
static void visit(struct doctor *dr, int fd, const char *full,
		  const char *rel, const struct stat *st,
		  const struct level *parent, struct level *self)
{
	struct node base;
	struct stat shown = *st;

	base.ino.uid = view_id(dr, st->st_uid, true);
	base.ino.gid = view_id(dr, st->st_gid, false);
	if (dr->via_source) {
		/* The owner the mount shows, as a stat() there would. */
		shown.st_uid = base.ino.uid == ACCESS_ID_INVALID
				       ? dr->kernel_ov_uid
				       : base.ino.uid;
		shown.st_gid = base.ino.gid == ACCESS_ID_INVALID
				       ? dr->kernel_ov_gid
				       : base.ino.gid;
		st = &shown;
	}
	base.ino.mode = st->st_mode;
	base.ino.acl = NULL;
	base.ino.acl_n = 0;
	if (!S_ISLNK(st->st_mode))
		read_acl(dr, fd, full, &base);
	else
		dr->symlinks++;
	if (S_ISREG(st->st_mode) && (st->st_mode & (S_ISUID | S_ISGID)))
		dr->setid_files++;
	judge_entry(dr, rel, st, &base, parent, self);
	dr->scanned++;
	progress_update(dr->scanned);
}

static bool limit_hit(struct doctor *dr)
{
	if (dr->max_files && dr->scanned >= dr->max_files) {
		dr->truncated = true;
		return true;
	}
	return false;
}

/* One piece: full and rel are extended in place per entry and restored. */
static void walk_dir(struct doctor *dr, int dfd, char *full, size_t flen,
		     char *rel, size_t rlen, struct level *self)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;

	if (!d) {
		close(dfd);
		note_error(dr, "%s: %s", full, errno);
		return;
	}
	while (!limit_hit(dr) && (errno = 0, de = readdir(d))) {
		struct stat st;
		struct level *child;
		size_t nlen = strlen(de->d_name);
		int efd;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (flen + nlen + 2 >= PATH_MAX ||
		    rlen + nlen + 2 >= PATH_MAX) {
			note_error(dr, "%s: %s", full, ENAMETOOLONG);
			continue;
		}
		full[flen] = '/';
		memcpy(full + flen + 1, de->d_name, nlen + 1);
		if (rlen)
			rel[rlen] = '/';
		memcpy(rel + rlen + (rlen ? 1 : 0), de->d_name, nlen + 1);
		/* The entry itself (a symlink as one), opened once. */
		efd = openat(dirfd(d), de->d_name,
			     O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (efd < 0 || fstat(efd, &st) < 0) {
			note_error(dr, "%s: %s", full, errno);
			if (efd >= 0)
				close(efd);
			goto restore;
		}
		child = malloc(sizeof(*child));
		if (!child)
			die(EXIT_FAIL, "out of memory");
		visit(dr, efd, full, rel, &st, self, child);
		if (S_ISDIR(st.st_mode)) {
			if (st.st_dev != dr->root_dev) {
				dr->skipped_mounts++;
			} else {
				/* The directory just judged, not whatever
				 * its name holds by now. */
				int fd = openat(efd, ".",
						O_RDONLY | O_DIRECTORY |
							O_CLOEXEC);

				if (fd < 0) {
					dr->unreadable_dirs++;
					note_error(dr, "%s: %s", full, errno);
				} else {
					walk_dir(dr, fd, full, flen + 1 + nlen,
						 rel,
						 rlen + (rlen ? 1 : 0) + nlen,
						 child);
				}
			}
		}
		free(child);
		close(efd);
	restore:
		full[flen] = '\0';
		rel[rlen] = '\0';
	}
	closedir(d);
}

/* Dies: PATH on a shifted mount the caller cannot read, and no record of
 * the caller's to judge it from. */
static noreturn void no_record(const struct doctor *dr, const char *shown)
{
	_cleanup_free_ char *m = tty_escape(dr->mnt_point);

	die(EXIT_FAIL,
	    "%s: Permission denied: it is on the shifted mount %s, which "
	    "shows its owners as the container sees them, and no record of "
	    "yours names that mount (doctor judges a mount you made from "
	    "its record): run doctor as the user who mounted it, or on its "
	    "source",
	    shown, m);
}

void scan(struct doctor *dr)
{
	static char full[PATH_MAX], rel[PATH_MAX];
	_cleanup_free_ char *shown = tty_escape(dr->path);
	struct level *top = malloc(sizeof(*top));
	/* A recorded shifted mount is read from its source. */
	int walk_fd = dr->via_source ? dr->src_fd : dr->root_fd;
	struct stat st;
	int fd;

	if (!top)
		die(EXIT_FAIL, "out of memory");
	if (fstat(walk_fd, &st) < 0)
		die(EXIT_FAIL, "%s: %s", shown, strerror(errno));
	dr->root_dev = st.st_dev;
	bfmt(full, sizeof(full), "%s",
	     dr->via_source ? dr->view_src : dr->realpath);
	rel[0] = '\0';
	progress_start(0, dr->quiet);
	visit(dr, walk_fd, full, ".", &st, NULL, top);
	if (S_ISDIR(st.st_mode) && !limit_hit(dr)) {
		fd = openat(walk_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 && errno == EACCES && dr->shifted_view)
			no_record(dr, shown);
		if (fd < 0)
			die(EXIT_FAIL, "%s: %s", shown, strerror(errno));
		walk_dir(dr, fd, full, strlen(full), rel, 0, top);
	}
	progress_finish();
	free(top);
}
