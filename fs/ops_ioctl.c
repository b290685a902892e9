/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The inode flag ioctls (lsattr/chattr): FS_IOC_GETFLAGS, FS_IOC_SETFLAGS,
 * FS_IOC_FSGETXATTR and FS_IOC_FSSETXATTR, passed through to the source
 * inode. Every other ioctl gets ENOTTY, as before.
 *
 * The kernel sends these from its fileattr ops (fs/fuse/ioctl.c) after the
 * VFS checks on the view: the caller owns the inode (or has CAP_FOWNER over
 * it) and holds CAP_LINUX_IMMUTABLE in the initial user namespace to change
 * the immutable or append-only flag. The daemon then acts with its own
 * capabilities, so it does not take those checks on trust alone: it
 * changes only the flags in its table below (the ones an owner may change
 * natively), and the immutable and append-only flags only for a caller
 * that itself holds CAP_LINUX_IMMUTABLE in the daemon's user namespace. Any
 * other change (data journalling, DAX, project ids, extent sizes) is
 * refused with EPERM.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fs.h"

/* A flag bit and the capability needed to change it (-1: the owner's). */
struct sfs_flag_rule {
	uint32_t flag;
	int cap;
};

/* FS_IOC_SETFLAGS bits (chattr letters in the comments). */
static const struct sfs_flag_rule flag_rules[] = {
	{FS_SECRM_FL, -1},			/* s */
	{FS_UNRM_FL, -1},			/* u */
	{FS_COMPR_FL, -1},			/* c */
	{FS_SYNC_FL, -1},			/* S */
	{FS_NODUMP_FL, -1},			/* d */
	{FS_NOATIME_FL, -1},			/* A */
	{FS_NOCOMP_FL, -1},			/* m */
	{FS_DIRSYNC_FL, -1},			/* D */
	{FS_TOPDIR_FL, -1},			/* T */
	{FS_NOCOW_FL, -1},			/* C */
	{FS_IMMUTABLE_FL, CAP_LINUX_IMMUTABLE}, /* i */
	{FS_APPEND_FL, CAP_LINUX_IMMUTABLE},	/* a */
	{FS_JOURNAL_DATA_FL, CAP_SYS_RESOURCE}, /* j (ext4's rule) */
};

/* FS_IOC_FSSETXATTR's fsx_xflags. */
static const struct sfs_flag_rule xflag_rules[] = {
	{FS_XFLAG_SYNC, -1},
	{FS_XFLAG_NOATIME, -1},
	{FS_XFLAG_NODUMP, -1},
	{FS_XFLAG_IMMUTABLE, CAP_LINUX_IMMUTABLE},
	{FS_XFLAG_APPEND, CAP_LINUX_IMMUTABLE},
};

/*
 * Does the caller hold cap, effective, in the daemon's own user namespace?
 * Read from /proc/PID: a process that has exited (or whose pid is not
 * visible) counts as not holding it. The kernel checked the same before
 * sending the request; this only ever refuses more.
 */
static bool caller_capable(fuse_req_t req, int cap)
{
	pid_t pid = fuse_req_ctx(req)->pid;
	char path[64], line[256];
	struct stat mine, theirs;
	uint64_t eff = 0;
	bool found = false;
	FILE *f;

	if (pid <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	if (stat("/proc/self/ns/user", &mine) < 0 || stat(path, &theirs) < 0 ||
	    mine.st_dev != theirs.st_dev || mine.st_ino != theirs.st_ino)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %" SCNx64, &eff) == 1) {
			found = true;
			break;
		}
	fclose(f);
	return found && cap >= 0 && cap < 64 && (eff >> cap & 1);
}

/*
 * The bits that change from old to new, checked against rules: 0, or
 * EPERM for a bit outside the table or one whose capability the caller
 * lacks.
 */
static int check_change(fuse_req_t req, const struct sfs_flag_rule *rules,
			size_t n, uint32_t old, uint32_t new)
{
	uint32_t diff = old ^ new;
	size_t i;

	for (i = 0; i < n && diff; i++) {
		if (!(diff & rules[i].flag))
			continue;
		if (rules[i].cap >= 0 && !caller_capable(req, rules[i].cap))
			return EPERM;
		diff &= ~rules[i].flag;
	}
	if (diff)
		sfs_debug(sfs_data(req),
			  "inode flags %#" PRIx32 " by view uid %u: refused",
			  diff, (unsigned int)fuse_req_ctx(req)->uid);
	return diff ? EPERM : 0;
}

/* A read-only fd of the (regular or directory) inode of O_PATH fd pfd. */
static int open_inode(int pfd)
{
	char path[SFS_PROC_PATH_MAX];
	struct stat st;
	int fd;

	if (fstat(pfd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		return -ENOTTY;
	sfs_proc_path(path, sizeof(path), pfd);
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int do_flags(fuse_req_t req, int fd, unsigned int cmd,
		    const void *in_buf, size_t in_bufsz, size_t out_bufsz)
{
	unsigned int old, new;

	if (ioctl(fd, FS_IOC_GETFLAGS, &old) < 0)
		return errno;
	if (cmd == FS_IOC_GETFLAGS) {
		if (out_bufsz < sizeof(old))
			return EINVAL;
		fuse_reply_ioctl(req, 0, &old, sizeof(old));
		return 0;
	}
	if (in_bufsz < sizeof(new))
		return EINVAL;
	memcpy(&new, in_buf, sizeof(new));
	if (check_change(req, flag_rules,
			 sizeof(flag_rules) / sizeof(flag_rules[0]), old, new))
		return EPERM;
	if (ioctl(fd, FS_IOC_SETFLAGS, &new) < 0)
		return errno;
	fuse_reply_ioctl(req, 0, NULL, 0);
	return 0;
}

static int do_fsxattr(fuse_req_t req, int fd, unsigned int cmd,
		      const void *in_buf, size_t in_bufsz, size_t out_bufsz)
{
	struct fsxattr old, new;

	if (ioctl(fd, FS_IOC_FSGETXATTR, &old) < 0)
		return errno;
	if (cmd == FS_IOC_FSGETXATTR) {
		if (out_bufsz < sizeof(old))
			return EINVAL;
		fuse_reply_ioctl(req, 0, &old, sizeof(old));
		return 0;
	}
	if (in_bufsz < sizeof(new))
		return EINVAL;
	memcpy(&new, in_buf, sizeof(new));
	/* Project ids and extent size hints are not the owner's to set. */
	if (new.fsx_projid != old.fsx_projid ||
	    new.fsx_extsize != old.fsx_extsize ||
	    new.fsx_cowextsize != old.fsx_cowextsize)
		return EPERM;
	if (check_change(req, xflag_rules,
			 sizeof(xflag_rules) / sizeof(xflag_rules[0]),
			 old.fsx_xflags, new.fsx_xflags))
		return EPERM;
	if (ioctl(fd, FS_IOC_FSSETXATTR, &new) < 0)
		return errno;
	fuse_reply_ioctl(req, 0, NULL, 0);
	return 0;
}

void sfs_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg,
	       struct fuse_file_info *fi, unsigned int flags,
	       const void *in_buf, size_t in_bufsz, size_t out_bufsz)
{
	struct sfs *fs = sfs_data(req);
	_cleanup_close_ int fd = -1;
	int pfd, err;

	(void)arg;
	(void)fi;
	if (flags & FUSE_IOCTL_COMPAT)
		return (void)fuse_reply_err(req, ENOTTY);
	if (cmd != FS_IOC_GETFLAGS && cmd != FS_IOC_SETFLAGS &&
	    cmd != FS_IOC_FSGETXATTR && cmd != FS_IOC_FSSETXATTR)
		return (void)fuse_reply_err(req, ENOTTY);
	pfd = sfs_get(req, ino);
	if (pfd < 0)
		return (void)fuse_reply_err(req, -pfd);
	fd = open_inode(pfd);
	sfs_put(fs, ino);
	if (fd < 0)
		return (void)fuse_reply_err(req, sfs_note_err(-fd));
	if (cmd == FS_IOC_GETFLAGS || cmd == FS_IOC_SETFLAGS)
		err = do_flags(req, fd, cmd, in_buf, in_bufsz, out_bufsz);
	else
		err = do_fsxattr(req, fd, cmd, in_buf, in_bufsz, out_bufsz);
	if (err)
		fuse_reply_err(req, err);
}
