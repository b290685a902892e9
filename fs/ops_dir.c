/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Directory ops: lookup and forget, creating and removing names, rename,
 * and reading directories (readdir and readdirplus). Everything is relative
 * to the parent's O_PATH fd; new inodes are made with the caller's disk ids
 * (creds.c) so they carry their final owner from the first instant.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "fs.h"
#include "log.h"

struct sfs_dir {
	DIR *dp;
	struct dirent *entry;
	off_t offset;
};

static struct sfs_dir *sfs_dirp(struct fuse_file_info *fi)
{
	return (struct sfs_dir *)(uintptr_t)fi->fh;
}

/*
 * Send an entry that carries one reference. If the kernel never gets it
 * (the request was interrupted), it will never forget it either: drop the
 * reference here. req is gone after the reply, so fs and inode come first.
 */
static int reply_entry_ref(fuse_req_t req, const struct fuse_entry_param *e)
{
	struct sfs *fs = sfs_data(req);
	struct sfs_inode *inode = sfs_inode(req, e->ino);

	if (fuse_reply_entry(req, e) == 0)
		return 0;
	sfs_unref(fs, inode, 1);
	return -1;
}

static void lookup_reply(fuse_req_t req, int err, struct fuse_entry_param *e)
{
	if (err == ENOENT && sfs_data(req)->timeout > 0) {
		/* A negative entry, cached for the entry timeout. */
		e->ino = 0;
		fuse_reply_entry(req, e);
	} else if (err) {
		fuse_reply_err(req, err);
	} else {
		reply_entry_ref(req, e);
	}
}

/* A LOOKUP that may wait on its directory's lock (dirq.c). */
struct lookup_job {
	struct sfs_dirq_job job;
	fuse_req_t req;
	fuse_ino_t parent;
	char name[];
};

static void lookup_job_run(struct sfs_dirq_job *job)
{
	struct lookup_job *l = (struct lookup_job *)job;
	struct fuse_entry_param e;

	lookup_reply(l->req, sfs_do_lookup(l->req, l->parent, l->name, &e), &e);
	free(l);
}

void sfs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	struct lookup_job *l;
	bool slow = false;
	int err = sfs_try_lookup(req, parent, name, &e, &slow);
	size_t n;

	if (!slow)
		return lookup_reply(req, err, &e);
	n = strlen(name) + 1;
	l = malloc(sizeof(*l) + n);
	if (!l)
		return (void)fuse_reply_err(req, ENOMEM);
	l->job.run = lookup_job_run;
	l->req = req;
	l->parent = parent;
	memcpy(l->name, name, n);
	sfs_dirq_run(sfs_inode(req, parent), &l->job);
}

void sfs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	sfs_unref(sfs_data(req), sfs_inode(req, ino), nlookup);
	fuse_reply_none(req);
}

void sfs_forget_multi(fuse_req_t req, size_t count,
		      struct fuse_forget_data *forgets)
{
	size_t i;

	for (i = 0; i < count; i++)
		sfs_unref(sfs_data(req), sfs_inode(req, forgets[i].ino),
			  forgets[i].nlookup);
	fuse_reply_none(req);
}

/*
 * Unprivileged: give a new entry the caller's group if we may, else undo.
 * On an fd of the entry, checked as a lookup's (submount.c): a mount made
 * on the new name meanwhile is not asked.
 */
static int fix_group(struct sfs *fs, int pfd, const char *name,
		     const struct sfs_group_fix *fix, bool is_dir)
{
	int fd = openat(pfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	int err = fd < 0 ? errno : sfs_submount_check(fs, pfd, fd);

	if (!err)
		err = sfs_group_fix(fix, fd);
	if (fd >= 0)
		close(fd);
	if (err == EPERM)
		unlinkat(pfd, name, is_dir ? AT_REMOVEDIR : 0);
	return err;
}

/*
 * mknod, mkdir and symlink: made as the caller, then looked up. If a step
 * after the creation fails, the new entry is removed again.
 */
static int do_make_node(fuse_req_t req, fuse_ino_t parent, int pfd,
			const char *name, mode_t mode, dev_t rdev,
			const char *link)
{
	struct sfs *fs = sfs_data(req);
	bool is_dir = S_ISDIR(mode);
	struct fuse_entry_param e;
	struct sfs_group_fix fix;
	int res, err;

	err = sfs_creds_enter(req, pfd, &mode, &fix);
	if (err)
		return err;
	if (is_dir)
		res = mkdirat(pfd, name, mode & ~S_IFMT);
	else if (S_ISLNK(mode))
		res = symlinkat(link, pfd, name);
	else
		res = mknodat(pfd, name, mode, rdev);
	err = res < 0 ? errno : 0;
	sfs_creds_leave(req);
	if (err)
		return err;
	if (fix.gid != (gid_t)-1) {
		err = fix_group(fs, pfd, name, &fix, is_dir);
		if (err)
			return err;
	}
	if (fs->test_fail_after_create)
		err = EIO; /* test hook: a failure after the entry exists */
	else
		err = sfs_do_lookup(req, parent, name, &e);
	if (err) {
		sfs_undo_create(pfd, name, is_dir);
		return err;
	}
	if (reply_entry_ref(req, &e) != 0)
		sfs_undo_create(pfd, name, is_dir);
	return 0;
}

static void make_node(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, dev_t rdev, const char *link)
{
	struct sfs *fs = sfs_data(req);
	int pfd = sfs_get(req, parent), err;

	if (pfd < 0)
		return (void)fuse_reply_err(req, -pfd);
	err = do_make_node(req, parent, pfd, name, mode, rdev, link);
	sfs_put(fs, parent);
	if (err)
		fuse_reply_err(req, err);
}

void sfs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
	       dev_t rdev)
{
	make_node(req, parent, name, mode, rdev, NULL);
}

void sfs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	make_node(req, parent, name, S_IFDIR | mode, 0, NULL);
}

void sfs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		 const char *name)
{
	make_node(req, parent, name, S_IFLNK, 0, link);
}

void sfs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
	      const char *newname)
{
	char path[SFS_PROC_PATH_MAX];
	struct fuse_entry_param e;
	int fd, pfd, err = 0;

	fd = sfs_get(req, ino);
	if (fd < 0)
		return (void)fuse_reply_err(req, -fd);
	pfd = sfs_get(req, newparent);
	if (pfd < 0) {
		sfs_put(sfs_data(req), ino);
		return (void)fuse_reply_err(req, -pfd);
	}
	/* Through /proc: AT_EMPTY_PATH would need CAP_DAC_READ_SEARCH. */
	sfs_proc_path(path, sizeof(path), fd);
	if (linkat(AT_FDCWD, path, pfd, newname, AT_SYMLINK_FOLLOW) < 0)
		err = errno;
	if (!err) {
		err = sfs_do_lookup(req, newparent, newname, &e);
		if (err)
			sfs_undo_create(pfd, newname, false);
	}
	sfs_put(sfs_data(req), newparent);
	sfs_put(sfs_data(req), ino);
	if (err)
		fuse_reply_err(req, err);
	else
		reply_entry_ref(req, &e);
}

static void unlink_common(fuse_req_t req, fuse_ino_t parent, const char *name,
			  int flags)
{
	int pfd = sfs_get(req, parent), res;

	if (pfd < 0)
		return (void)fuse_reply_err(req, -pfd);
	res = unlinkat(pfd, name, flags) < 0 ? errno : 0;
	sfs_put(sfs_data(req), parent);
	fuse_reply_err(req, res);
}

void sfs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	unlink_common(req, parent, name, 0);
}

void sfs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	unlink_common(req, parent, name, AT_REMOVEDIR);
}

void sfs_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	int pfd, npfd, res;

	pfd = sfs_get(req, parent);
	if (pfd < 0)
		return (void)fuse_reply_err(req, -pfd);
	npfd = sfs_get(req, newparent);
	if (npfd < 0) {
		sfs_put(sfs_data(req), parent);
		return (void)fuse_reply_err(req, -npfd);
	}
	res = renameat2(pfd, name, npfd, newname, flags) < 0 ? errno : 0;
	sfs_put(sfs_data(req), newparent);
	sfs_put(sfs_data(req), parent);
	fuse_reply_err(req, res);
}

void sfs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct sfs *fs = sfs_data(req);
	struct sfs_dir *d = calloc(1, sizeof(*d));
	int ifd, fd, err;

	if (!d)
		return (void)fuse_reply_err(req, ENOMEM);
	ifd = sfs_get(req, ino);
	if (ifd < 0) {
		free(d);
		return (void)fuse_reply_err(req, -ifd);
	}
	fd = openat(ifd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	err = errno;
	sfs_put(sfs_data(req), ino);
	if (fd < 0) {
		errno = sfs_note_err(err);
		goto out_err;
	}
	d->dp = fdopendir(fd);
	if (!d->dp) {
		err = errno;
		close(fd);
		errno = err;
		goto out_err;
	}
	fi->fh = (uint64_t)(uintptr_t)d;
	if (fs->cache == SFS_CACHE_ALWAYS) {
		fi->keep_cache = 1;
		fi->cache_readdir = 1;
	}
	fuse_reply_open(req, fi);
	return;

out_err:
	err = errno;
	free(d);
	fuse_reply_err(req, err);
}

static bool is_dot_or_dotdot(const char *name)
{
	return name[0] == '.' &&
	       (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

/*
 * The smallest readdirplus entry: struct fuse_entry_out (128 bytes), the
 * 24-byte dirent header and a name padded to 8. Bounds how many entries,
 * each holding a reference, one reply can carry.
 */
#define SFS_DIRENTPLUS_MIN 160

/*
 * Add d->entry to buf. Returns the size it took, 0 when it did not fit
 * (nothing added, no reference taken), or -errno. *ref is the inode whose
 * reference the entry carries, or NULL.
 */
static ssize_t add_entry(fuse_req_t req, struct sfs_dir *d, char *p,
			 size_t rem, off_t nextoff, bool plus, bool attrs,
			 struct sfs_inode **ref)
{
	struct sfs *fs = sfs_data(req);
	const char *name = d->entry->d_name;
	struct sfs_inode *known;
	struct fuse_entry_param e;
	size_t size;

	*ref = NULL;
	if (!plus || !attrs || is_dot_or_dotdot(name)) {
		memset(&e, 0, sizeof(e));
		e.attr.st_ino = d->entry->d_ino;
		e.attr.st_mode = (mode_t)d->entry->d_type << 12;
		if (plus)
			size = fuse_add_direntry_plus(req, p, rem, name, &e,
						      nextoff);
		else
			size = fuse_add_direntry(req, p, rem, name, &e.attr,
						 nextoff);
		return size > rem ? 0 : (ssize_t)size;
	}
	/*
	 * Attributes only for inodes the kernel already knows (no open, no
	 * new inode, sfs_lookup_known()); any other entry goes plain (nodeid
	 * 0), and a stat of it is one LOOKUP. A LOOKUP per entry for
	 * everyone was 5x slower than bindfs's plain READDIR.
	 */
	memset(&e, 0, sizeof(e));
	known = sfs_lookup_known(fs, dirfd(d->dp), name, &e.attr);
	if (!known) {
		memset(&e, 0, sizeof(e));
		e.attr.st_ino = d->entry->d_ino;
		e.attr.st_mode = (mode_t)d->entry->d_type << 12;
		size = fuse_add_direntry_plus(req, p, rem, name, &e, nextoff);
		return size > rem ? 0 : (ssize_t)size;
	}
	e.ino = sfs_ino(fs, known);
	e.attr_timeout = fs->timeout;
	e.entry_timeout = fs->timeout;
	sfs_stat_to_view(fs, &e.attr);
	size = fuse_add_direntry_plus(req, p, rem, name, &e, nextoff);
	if (size > rem) {
		/* Did not fit: the kernel never sees this reference. */
		sfs_unref(sfs_data(req), sfs_inode(req, e.ino), 1);
		return 0;
	}
	*ref = sfs_inode(req, e.ino);
	return (ssize_t)size;
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
		       off_t offset, struct fuse_file_info *fi, bool plus)
{
	struct sfs *fs = sfs_data(req);
	struct sfs_dir *d = sfs_dirp(fi);
	_cleanup_free_ struct sfs_inode **refs = NULL;
	size_t rem = size, nrefs = 0, i;
	char *buf, *p;
	int err = 0;
	/*
	 * The kernel asks READDIRPLUS for the first block of every directory
	 * (FUSE_CAP_READDIRPLUS_AUTO changes nothing there), whether or not
	 * the reader will stat the entries. Attributes cost an fstatat and
	 * often a name_to_handle_at per entry (4.3 us): given only in
	 * directories whose files were looked up (ls -l, stat), plain
	 * entries elsewhere (find, which stats nothing).
	 */
	bool attrs = plus && sfs_statkids(fs, sfs_inode(req, ino));

	buf = malloc(size);
	if (plus)
		refs = calloc(size / SFS_DIRENTPLUS_MIN + 1, sizeof(*refs));
	if (!buf || (plus && !refs)) {
		free(buf);
		return (void)fuse_reply_err(req, ENOMEM);
	}
	p = buf;
	if (offset != d->offset) {
		seekdir(d->dp, offset);
		d->entry = NULL;
		d->offset = offset;
	}
	for (;;) {
		struct sfs_inode *ref;
		ssize_t used;

		if (!d->entry) {
			errno = 0;
			d->entry = readdir(d->dp);
			if (!d->entry) {
				err = errno;
				break;
			}
		}
		used = add_entry(req, d, p, rem, d->entry->d_off, plus, attrs,
				 &ref);
		if (used == -ENOENT) {
			/* Removed since readdir saw it: skip it. */
			used = 0;
		} else if (used < 0) {
			err = (int)-used;
			break;
		} else if (used == 0) {
			break;
		}
		if (ref)
			refs[nrefs++] = ref;
		p += used;
		rem -= (size_t)used;
		d->offset = d->entry->d_off;
		d->entry = NULL;
	}
	/* Entries already added carry references: report them, not err. */
	if (err && rem == size)
		fuse_reply_err(req, err);
	else if (fuse_reply_buf(req, buf, size - rem) != 0)
		/* Never delivered: the kernel will not forget them. */
		for (i = 0; i < nrefs; i++)
			sfs_unref(fs, refs[i], 1);
	free(buf);
}

/*
 * A READDIR(PLUS): getdents64() waits on the directory's lock, and the
 * kernel sends those of different opens of a directory at once (dirq.c).
 */
struct readdir_job {
	struct sfs_dirq_job job;
	fuse_req_t req;
	fuse_ino_t ino;
	size_t size;
	off_t off;
	struct fuse_file_info fi;
	bool plus;
};

static void readdir_job_run(struct sfs_dirq_job *job)
{
	struct readdir_job *r = (struct readdir_job *)job;

	do_readdir(r->req, r->ino, r->size, r->off, &r->fi, r->plus);
	free(r);
}

static void queue_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
			  off_t off, struct fuse_file_info *fi, bool plus)
{
	struct readdir_job *r = malloc(sizeof(*r));

	if (!r)
		return (void)fuse_reply_err(req, ENOMEM);
	r->job.run = readdir_job_run;
	r->req = req;
	r->ino = ino;
	r->size = size;
	r->off = off;
	r->fi = *fi;
	r->plus = plus;
	sfs_dirq_run(sfs_inode(req, ino), &r->job);
}

void sfs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		 struct fuse_file_info *fi)
{
	queue_readdir(req, ino, size, off, fi, false);
}

void sfs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	queue_readdir(req, ino, size, off, fi, true);
}

void sfs_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct sfs_dir *d = sfs_dirp(fi);

	(void)ino;
	closedir(d->dp);
	free(d);
	fuse_reply_err(req, 0);
}

void sfs_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
		  struct fuse_file_info *fi)
{
	int fd = dirfd(sfs_dirp(fi)->dp);
	int res = datasync ? fdatasync(fd) : fsync(fd);

	(void)ino;
	fuse_reply_err(req, res < 0 ? errno : 0);
}
