/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Extended attributes. Values pass through, except the two that hold ids:
 * POSIX ACLs (system.posix_acl_access/_default, every ACL_USER/ACL_GROUP
 * entry) and security.capability (its root id: v3's rootid, or disk root for
 * v1/v2, converted to v3 as the kernel's idmapped mounts do). Those are
 * shifted disk -> view on get and view -> disk on set, where an unmapped view
 * id is refused with EOVERFLOW; capabilities whose root id has no view are
 * hidden (ENODATA), so exec through the mount ignores them. O_PATH fds have no f*xattr(), hence the /proc paths (which name
 * the very inode, not a path to resolve again).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "acl_xattr.h"
#include "fcaps_xattr.h"
#include "fs.h"
#include "log.h"

/* Shift the ids in an xattr value in place. 0 or -errno. */
static int shift_value(const struct sfs *fs, const char *name, void *buf,
		       size_t size, bool to_view)
{
	int r;

	if (!acl_xattr_is_acl(name))
		return 0;
	r = acl_xattr_shift(buf, size, &fs->maps, to_view);
	/* A malformed value is the source filesystem's to judge. */
	if (r == -EINVAL)
		return 0;
	if (r < 0)
		return r;
	/* A map need not keep ids in order; filesystems require it. */
	if (r > 0)
		acl_xattr_sort(buf, size);
	return 0;
}

/* Answer a size query with the result of a sizing *xattr() call. */
static void reply_size(fuse_req_t req, ssize_t res)
{
	if (res < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_xattr(req, (size_t)res);
}

static bool is_fcaps(const char *name)
{
	return strcmp(name, FCAPS_XATTR) == 0;
}

/* security.capability: its size may change (v2 -> v3), so always read it. */
static void getxattr_fcaps(fuse_req_t req, const char *path, size_t size)
{
	char buf[FCAPS_XATTR_MAX * 2];
	ssize_t res = getxattr(path, FCAPS_XATTR, buf, sizeof(buf));
	int r;

	if (res < 0)
		return (void)fuse_reply_err(req, errno);
	r = fcaps_xattr_convert(buf, (size_t)res, buf, &sfs_data(req)->maps.uid,
				true);
	if (r == -EOVERFLOW)
		return (void)fuse_reply_err(req, ENODATA);
	if (r == -EINVAL)
		r = (int)res; /* malformed: the kernel judges it, as on disk */
	if (!size)
		fuse_reply_xattr(req, (size_t)r);
	else if (size < (size_t)r)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, buf, (size_t)r);
}

static void do_getxattr(fuse_req_t req, const char *path, const char *name, size_t size)
{
	ssize_t res;
	void *buf;
	int r;

	if (is_fcaps(name))
		return getxattr_fcaps(req, path, size);
	if (!size) {
		/* Shifting an ACL never changes its size. */
		return reply_size(req, getxattr(path, name, NULL, 0));
	}
	buf = malloc(size);
	if (!buf)
		return (void)fuse_reply_err(req, ENOMEM);
	res = getxattr(path, name, buf, size);
	if (res < 0)
		r = -errno;
	else
		r = shift_value(sfs_data(req), name, buf, (size_t)res, true);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_buf(req, buf, (size_t)res);
	free(buf);
}

static void do_setxattr(fuse_req_t req, const char *path, const char *name,
		  const char *value, size_t size, int flags)
{
	void *buf;
	int r;

	buf = malloc(size > FCAPS_XATTR_MAX ? size : FCAPS_XATTR_MAX);
	if (!buf)
		return (void)fuse_reply_err(req, ENOMEM);
	memcpy(buf, value, size);
	if (is_fcaps(name)) {
		r = fcaps_xattr_convert(value, size, buf,
					&sfs_data(req)->maps.uid, false);
		if (r >= 0)
			size = (size_t)r;
		/* A malformed value is the kernel's and the disk's to judge. */
		if (r >= 0 || r == -EINVAL)
			r = 0;
	} else {
		r = shift_value(sfs_data(req), name, buf, size, false);
	}
	if (r == 0 && setxattr(path, name, buf, size, flags) < 0)
		r = -errno;
	free(buf);
	fuse_reply_err(req, -r);
}

static void do_listxattr(fuse_req_t req, const char *path, size_t size)
{
	ssize_t res;
	char *buf;

	if (!size) {
		return reply_size(req, listxattr(path, NULL, 0));
	}
	buf = malloc(size);
	if (!buf)
		return (void)fuse_reply_err(req, ENOMEM);
	res = listxattr(path, buf, size);
	if (res < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_buf(req, buf, (size_t)res);
	free(buf);
}

static void do_removexattr(fuse_req_t req, const char *path, const char *name)
{

	if (removexattr(path, name) < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_err(req, 0);
}

/* The public handlers: the inode's fd, pinned for the call, as a /proc path. */
#define SFS_XATTR_PATH(req, ino, path)                                         \
	struct sfs *fs_ = sfs_data(req);                                       \
	char path[SFS_PROC_PATH_MAX];                                          \
	int fd_ = sfs_get(req, ino);                                           \
	if (fd_ < 0)                                                           \
		return (void)fuse_reply_err(req, -fd_);                        \
	sfs_proc_path(path, sizeof(path), fd_)

void sfs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	SFS_XATTR_PATH(req, ino, path);
	do_getxattr(req, path, name, size);
	sfs_put(fs_, ino);
}

void sfs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		  const char *value, size_t size, int flags)
{
	SFS_XATTR_PATH(req, ino, path);
	do_setxattr(req, path, name, value, size, flags);
	sfs_put(fs_, ino);
}

void sfs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	SFS_XATTR_PATH(req, ino, path);
	do_listxattr(req, path, size);
	sfs_put(fs_, ino);
}

void sfs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	SFS_XATTR_PATH(req, ino, path);
	do_removexattr(req, path, name);
	sfs_put(fs_, ino);
}
