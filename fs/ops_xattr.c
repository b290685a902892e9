/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Extended attributes. Values pass through, except the two that hold ids:
 * POSIX ACLs (system.posix_acl_access/_default, every ACL_USER/ACL_GROUP
 * entry) and security.capability (its root id: v3's rootid, or disk root for
 * v1/v2, converted to v3 as the kernel's idmapped mounts do). Those are
 * shifted disk -> view on get and view -> disk on set, where an unmapped view
 * id is refused with EOVERFLOW; capabilities whose root id has no view are
 * hidden (ENODATA), so exec through the mount ignores them. ACL entries
 * naming an unmapped disk id are left out of the view and merged back on
 * write (acl_xattr_to_view/_to_disk). O_PATH fds have no f*xattr(), hence
 * the /proc paths (which name the very inode, not a path to resolve again).
 *
 * The daemon calls *xattr() as root, and the kernel's own checks on a FUSE
 * mount stop short of some namespaces, so the daemon applies what the
 * native filesystem would apply to the caller, with "view uid 0" as the
 * only privileged caller (xattr_refused(), hide_names()).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <linux/xattr.h>

#include "acl_xattr.h"
#include "cleanup.h"
#include "fcaps_xattr.h"
#include "fs.h"
#include "log.h"

static bool has_prefix(const char *name, const char *prefix)
{
	return strncmp(name, prefix, strlen(prefix)) == 0;
}

/* The caller the native filesystem would treat as privileged. */
static bool caller_privileged(fuse_req_t req)
{
	return fuse_req_ctx(req)->uid == 0;
}

/*
 * 0, or the errno the native filesystem gives this caller for name:
 *  - trusted.*: CAP_SYS_ADMIN only; ext4 answers ENODATA to a read and
 *    EPERM to a write by anyone else (fs/xattr.c xattr_permission()).
 *  - system.* other than the POSIX ACLs (system.nfs4_acl, system.cifs_acl,
 *    ...): never written, for any caller. The kernel checks nothing for
 *    them on a FUSE mount and the daemon writes as root; ext4 has no such
 *    names and answers EOPNOTSUPP, so that is the answer.
 *  - security.* other than security.capability: CAP_SYS_ADMIN to write
 *    (cap_inode_setxattr()); EPERM.
 * user.* (regular files and directories only, sticky directories) and the
 * ACLs (owner only) are checked by the kernel before the request is sent.
 */
static int xattr_refused(fuse_req_t req, const char *name, bool write)
{
	bool priv = caller_privileged(req);

	if (has_prefix(name, XATTR_TRUSTED_PREFIX) && !priv)
		return write ? EPERM : ENODATA;
	if (!write)
		return 0;
	if (has_prefix(name, XATTR_SYSTEM_PREFIX) && !acl_xattr_is_acl(name))
		return EOPNOTSUPP;
	if (has_prefix(name, XATTR_SECURITY_PREFIX) &&
	    strcmp(name, FCAPS_XATTR) != 0 && !priv)
		return EPERM;
	return 0;
}

/*
 * The whole value of xattr name (name NULL: the name list) in *out, which
 * the caller frees. Returns its size or -errno.
 */
static ssize_t read_all(const char *path, const char *name, char **out)
{
	ssize_t len, res = -1;
	int tries;

	*out = NULL;
	for (tries = 0; tries < 8; tries++) {
		len = name ? getxattr(path, name, NULL, 0)
			   : listxattr(path, NULL, 0);
		if (len < 0)
			break;
		free(*out);
		*out = malloc(len ? (size_t)len : 1);
		if (!*out)
			return -ENOMEM;
		res = name ? getxattr(path, name, *out, (size_t)len)
			   : listxattr(path, *out, (size_t)len);
		/* ERANGE: it grew between the two calls. */
		if (res >= 0 || errno != ERANGE)
			break;
	}
	if (res >= 0)
		return res;
	res = -errno;
	free(*out);
	*out = NULL;
	return res;
}

/* Answer a get or list with len bytes of buf (size 0: just the size). */
static void reply_value(fuse_req_t req, const void *buf, size_t len,
			size_t size)
{
	if (!size)
		fuse_reply_xattr(req, len);
	else if (size < len)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, buf, len);
}

/* An ACL's view: its size may shrink (hidden entries), so always read it. */
static void getxattr_acl(fuse_req_t req, const char *path, const char *name,
			 size_t size)
{
	_cleanup_free_ char *buf = NULL;
	ssize_t len = read_all(path, name, &buf);
	int r;

	if (len < 0)
		return (void)fuse_reply_err(req, (int)-len);
	r = acl_xattr_to_view(buf, (size_t)len, &sfs_data(req)->maps);
	/* A malformed value is the kernel's to refuse, as on disk. */
	if (r >= 0)
		len = r;
	reply_value(req, buf, (size_t)len, size);
}

/*
 * true when the caller is in group gid (a view gid, (gid_t)-1 for none):
 * its fsgid or one of its supplementary groups.
 */
static bool caller_in_group(fuse_req_t req, gid_t gid)
{
	gid_t list[64], *groups = list;
	_cleanup_free_ gid_t *big = NULL;
	int n, room = 64, i;

	if (gid == (gid_t)-1)
		return false;
	if (fuse_req_ctx(req)->gid == gid)
		return true;
	n = fuse_req_getgroups(req, room, list);
	if (n > room) {
		room = n;
		big = malloc(sizeof(*big) * (size_t)room);
		if (!big)
			return false;
		groups = big;
		n = fuse_req_getgroups(req, room, big);
	}
	/* Unknown groups: not a member, the safe answer (setgid goes). */
	for (i = 0; i < n && i < room; i++)
		if (groups[i] == gid)
			return true;
	return false;
}

/*
 * Setting an access ACL clears S_ISGID unless the caller is in the file's
 * group or has CAP_FSETID over it (posix_acl_update_mode()); the source
 * filesystem sees root doing it, so apply the rule for the caller here.
 * CAP_FSETID counts only for view uid 0, and only over an inode whose
 * owner and group both have view ids (capable_wrt_inode_uidgid()).
 */
static void acl_kill_sgid(fuse_req_t req, const char *path)
{
	const struct sfs *fs = sfs_data(req);
	struct stat st;

	if (stat(path, &st) < 0 || !(st.st_mode & S_ISGID))
		return;
	sfs_stat_to_view(fs, &st);
	if (caller_in_group(req, st.st_gid))
		return;
	if (caller_privileged(req) && st.st_uid != (uid_t)-1 &&
	    st.st_gid != (gid_t)-1)
		return;
	if (chmod(path, st.st_mode & 07777 & ~S_ISGID) < 0)
		shift_log(SHIFT_LOG_WARNING,
			  "cannot clear setgid after an ACL change: %m");
}

/* ACLs: view -> disk, keeping the disk entries the view hides. */
static int setxattr_acl(fuse_req_t req, const char *path, const char *name,
			const char *value, size_t size, int flags)
{
	_cleanup_free_ char *disk = NULL, *buf = NULL;
	ssize_t dlen = read_all(path, name, &disk);
	int r;

	if (dlen == -ENODATA)
		dlen = 0;
	else if (dlen < 0)
		return (int)-dlen;
	buf = malloc(size + (size_t)dlen);
	if (!buf)
		return ENOMEM;
	r = acl_xattr_to_disk(value, size, disk, (size_t)dlen,
			      &sfs_data(req)->maps, buf, size + (size_t)dlen);
	if (r < 0)
		return -r;
	if (setxattr(path, name, buf, (size_t)r, flags) < 0)
		return errno;
	if (strcmp(name, ACL_XATTR_ACCESS) == 0) {
		acl_kill_sgid(req, path);
		/* The guard (creds.c): the ACL set group and owner bits. */
		sfs_guard_mode(req, path);
	}
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

	if (is_fcaps(name))
		return getxattr_fcaps(req, path, size);
	if (acl_xattr_is_acl(name))
		return getxattr_acl(req, path, name, size);
	if (!size)
		return reply_size(req, getxattr(path, name, NULL, 0));
	buf = malloc(size);
	if (!buf)
		return (void)fuse_reply_err(req, ENOMEM);
	res = getxattr(path, name, buf, size);
	if (res < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_buf(req, buf, (size_t)res);
	free(buf);
}

static void do_setxattr(fuse_req_t req, const char *path, const char *name,
		  const char *value, size_t size, int flags)
{
	void *buf;
	int r;

	if (acl_xattr_is_acl(name))
		return (void)fuse_reply_err(
			req, setxattr_acl(req, path, name, value, size, flags));
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
		/* The guard (creds.c): nothing effective on the host. */
		if (r == 0 && !sfs_trusted(req) &&
		    sfs_priv_fcaps(sfs_data(req), buf, size))
			r = -EPERM;
	} else {
		r = 0;
	}
	if (r == 0 && setxattr(path, name, buf, size, flags) < 0)
		r = -errno;
	free(buf);
	fuse_reply_err(req, -r);
}

/* Leave out the names this caller could not see natively (trusted.*). */
static size_t hide_names(fuse_req_t req, char *list, size_t len)
{
	size_t in = 0, out = 0, n;

	if (caller_privileged(req))
		return len;
	while (in < len) {
		n = strnlen(list + in, len - in);
		if (in + n < len)
			n++; /* its NUL */
		if (!has_prefix(list + in, XATTR_TRUSTED_PREFIX)) {
			memmove(list + out, list + in, n);
			out += n;
		}
		in += n;
	}
	return out;
}

/* The list may shrink for the caller, so always read all of it. */
static void do_listxattr(fuse_req_t req, const char *path, size_t size)
{
	_cleanup_free_ char *buf = NULL;
	ssize_t len = read_all(path, NULL, &buf);

	if (len < 0)
		return (void)fuse_reply_err(req, (int)-len);
	reply_value(req, buf, hide_names(req, buf, (size_t)len), size);
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
	int err = xattr_refused(req, name, false);

	if (err)
		return (void)fuse_reply_err(req, err);
	SFS_XATTR_PATH(req, ino, path);
	do_getxattr(req, path, name, size);
	sfs_put(fs_, ino);
}

void sfs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		  const char *value, size_t size, int flags)
{
	int err = xattr_refused(req, name, true);

	if (err)
		return (void)fuse_reply_err(req, err);
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
	int err = xattr_refused(req, name, true);

	if (err)
		return (void)fuse_reply_err(req, err);
	SFS_XATTR_PATH(req, ino, path);
	do_removexattr(req, path, name);
	sfs_put(fs_, ino);
}
