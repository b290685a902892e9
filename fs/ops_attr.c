/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Attribute ops: getattr and setattr (owners view -> disk; an unmapped view
 * id is refused with EOVERFLOW, never guessed; the privilege guard of
 * creds.c on chmod, chown and truncation), readlink and statfs.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fs.h"
#include "log.h"

static void reply_attr(fuse_req_t req, int fd)
{
	struct sfs *fs = sfs_data(req);
	struct stat st;
	int r = sfs_getattr_view(fs, fd, &st);

	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_attr(req, &st, fs->timeout);
}

void sfs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct sfs *fs = sfs_data(req);
	int fd = sfs_get(req, ino);

	(void)fi;
	if (fd < 0)
		return (void)fuse_reply_err(req, -fd);
	reply_attr(req, fd);
	sfs_put(fs, ino);
}

/* View owners of a setattr to disk ids ((uid_t)-1: unchanged). */
static int owners_to_disk(const struct sfs *fs, const struct stat *attr,
			  int valid, uid_t *uid, gid_t *gid)
{
	uint32_t id;

	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	if ((valid & FUSE_SET_ATTR_UID) && attr->st_uid != (uid_t)-1) {
		if (idmap_to_disk(&fs->maps.uid, attr->st_uid, &id) < 0)
			return EOVERFLOW;
		*uid = id;
	}
	if ((valid & FUSE_SET_ATTR_GID) && attr->st_gid != (gid_t)-1) {
		if (idmap_to_disk(&fs->maps.gid, attr->st_gid, &id) < 0)
			return EOVERFLOW;
		*gid = id;
	}
	return 0;
}

static int set_owners(const struct sfs *fs, int fd, uid_t uid, gid_t gid)
{
	if (uid == (uid_t)-1 && gid == (gid_t)-1)
		return 0;
	if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) ==
	    0)
		return 0;
	if (errno == EPERM && fs->creds == SFS_CREDS_UNPRIV)
		sfs_log_unpriv("changing an owner to disk id",
			       uid != (uid_t)-1 ? uid : gid);
	return errno;
}

static int set_times(const struct sfs_inode *inode, int fd, const char *path,
		     const struct stat *attr, int valid)
{
	struct timespec tv[2];
	int res;

	tv[0].tv_sec = 0;
	tv[1].tv_sec = 0;
	tv[0].tv_nsec = UTIME_OMIT;
	tv[1].tv_nsec = UTIME_OMIT;
	if (valid & FUSE_SET_ATTR_ATIME_NOW)
		tv[0].tv_nsec = UTIME_NOW;
	else if (valid & FUSE_SET_ATTR_ATIME)
		tv[0] = attr->st_atim;
	if (valid & FUSE_SET_ATTR_MTIME_NOW)
		tv[1].tv_nsec = UTIME_NOW;
	else if (valid & FUSE_SET_ATTR_MTIME)
		tv[1] = attr->st_mtim;

	if (inode->flags & SFS_INODE_SYMLINK)
		res = utimensat(fd, "", tv,
				AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
	else
		res = utimensat(AT_FDCWD, path, tv, 0);
	return res < 0 ? errno : 0;
}

/*
 * The guard (creds.c) on a chmod by an untrusted caller: the new mode may
 * not make the file setuid/setgid for a privileged disk owner (uid:gid, the
 * owners after this setattr). A bit the file already has may stay, as long
 * as no execute permission is added with it. EPERM, as for a chmod the
 * caller may not do.
 */
static int check_mode(fuse_req_t req, int fd, mode_t mode, uid_t uid,
		      gid_t gid)
{
	struct sfs *fs = sfs_data(req);
	struct stat st;

	if (sfs_trusted(req))
		return 0;
	if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return errno;
	if (uid == (uid_t)-1)
		uid = st.st_uid;
	if (gid == (gid_t)-1)
		gid = st.st_gid;
	if (sfs_priv_gain(fs, st.st_mode, mode, uid, gid)) {
		sfs_debug(fs, "chmod %o of a file of disk %u:%u by view uid "
			  "%u: privileged setuid/setgid refused",
			  (unsigned int)(mode & 07777), (unsigned int)uid,
			  (unsigned int)gid,
			  (unsigned int)fuse_req_ctx(req)->uid);
		return EPERM;
	}
	return 0;
}

/* The setattr bits that change something besides ctime. */
#define SFS_SET_ATTR_CHANGES                                                   \
	(FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_ATIME |       \
	 FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_ATIME_NOW |                       \
	 FUSE_SET_ATTR_MTIME_NOW)

/*
 * A SETATTR of nothing: chown(f, -1, -1), or the kernel's killpriv before a
 * write to a capable file (killpriv v2, killpriv.c), which look the same
 * here. Both drop a file capability and change ctime natively; the chown
 * also clears setuid/setgid, the write does not for a holder of CAP_FSETID.
 * So a file without those bits gets the chown itself, a setuid/setgid one
 * loses its capability and gets a chmod to its own mode (ctime): it keeps
 * the bits on chown(f, -1, -1), where ext4 would clear them.
 */
static int no_change(int fd, const char *path)
{
	struct stat st;

	if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return errno;
	if (!S_ISREG(st.st_mode) || !(st.st_mode & (S_ISUID | S_ISGID))) {
		if (fchownat(fd, "", (uid_t)-1, (gid_t)-1,
			     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
			return errno;
		return 0;
	}
	if (removexattr(path, "security.capability") < 0 &&
	    errno != ENODATA)
		return errno;
	if (chmod(path, st.st_mode & 07777) < 0)
		return errno;
	return 0;
}

/*
 * truncate(2) of path without waiting for a lease to break: EAGAIN then.
 * A host user who leases files of its own below SRC would otherwise hold a
 * worker for up to lease-break-time per truncate (as sfs_open()'s waits;
 * a truncate without a file is rare enough not to get a thread of its
 * own). The kernel sends a size change only for regular files.
 */
static int truncate_nowait(const char *path, off_t size)
{
	int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	int err;

	if (fd < 0)
		return errno;
	err = ftruncate(fd, size) < 0 ? errno : 0;
	close(fd);
	return err;
}

static int do_setattr(fuse_req_t req, struct sfs_inode *inode, int fd,
		      struct stat *attr, int valid, struct fuse_file_info *fi)
{
	struct sfs *fs = sfs_data(req);
	char path[SFS_PROC_PATH_MAX];
	uid_t uid;
	gid_t gid;
	int err, res;

	sfs_proc_path(path, sizeof(path), fd);
	err = owners_to_disk(fs, attr, valid, &uid, &gid);
	if (err)
		return err;
	if (valid & FUSE_SET_ATTR_MODE) {
		err = check_mode(req, fd, attr->st_mode, uid, gid);
		if (err)
			return err;
		res = fchmodat(AT_FDCWD, path, attr->st_mode, 0);
		if (res < 0)
			return errno;
	}
	err = set_owners(fs, fd, uid, gid);
	/*
	 * chown(f, -1, -1) changes nothing but ctime natively (and drops a
	 * file capability and setuid); the kernel sends it as a SETATTR with
	 * no attribute: pass it on as such (no_change()).
	 */
	if (!err && !(valid & SFS_SET_ATTR_CHANGES) && uid == (uid_t)-1 &&
	    gid == (gid_t)-1)
		err = no_change(fd, path);
	/* A file now setuid/setgid for a privileged disk owner loses those
	 * bits: the kernel clears them on chown only for callers without
	 * CAP_FSETID, and a container's root has it. */
	if (!err && (uid != (uid_t)-1 || gid != (gid_t)-1))
		err = sfs_disarm(req, sfs_ino(sfs_data(req), inode), fd, false);
	if (err)
		return err;
	/* Only ftruncate() comes with a file handle, and only for files. */
	if (valid & FUSE_SET_ATTR_SIZE) {
		err = sfs_disarm(req, sfs_ino(sfs_data(req), inode), fd, true);
		if (!err)
			err = sfs_killpriv(req, sfs_ino(sfs_data(req), inode),
					   fd);
		if (err)
			return err;
		if (fi && ftruncate((int)fi->fh, attr->st_size) < 0)
			err = errno;
		else if (!fi)
			err = truncate_nowait(path, attr->st_size);
		if (err)
			return err;
	}
	if (valid & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)) {
		err = set_times(inode, fd, path, attr, valid);
		if (err)
			return err;
	}
	reply_attr(req, fd);
	return 0;
}

void sfs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int valid,
		 struct fuse_file_info *fi)
{
	struct sfs *fs = sfs_data(req);
	struct sfs_inode *inode = sfs_inode(req, ino);
	int fd = sfs_get(req, ino);
	int err;

	if (fd < 0)
		return (void)fuse_reply_err(req, -fd);
	err = do_setattr(req, inode, fd, attr, valid, fi);
	if (err)
		fuse_reply_err(req, err);
	sfs_put(fs, ino);
}

void sfs_readlink(fuse_req_t req, fuse_ino_t ino)
{
	char buf[PATH_MAX + 1];
	int fd = sfs_get(req, ino), err;
	ssize_t res;

	if (fd < 0)
		return (void)fuse_reply_err(req, -fd);
	res = readlinkat(fd, "", buf, sizeof(buf));
	err = res < 0 ? errno : 0;
	sfs_put(sfs_data(req), ino);
	if (err)
		return (void)fuse_reply_err(req, err);
	if ((size_t)res == sizeof(buf))
		return (void)fuse_reply_err(req, ENAMETOOLONG);
	buf[res] = '\0';
	fuse_reply_readlink(req, buf);
}

void sfs_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs st;
	int fd = sfs_get(req, ino), res;

	if (fd < 0)
		return (void)fuse_reply_err(req, -fd);
	res = fstatvfs(fd, &st);
	if (res < 0)
		res = errno;
	sfs_put(sfs_data(req), ino);
	if (res)
		return (void)fuse_reply_err(req, res);
	fuse_reply_statfs(req, &st);
}
