/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Creating inodes as the caller. A new inode must carry its final owner
 * before anyone can see it, and get the setgid-directory group and default
 * ACL exactly as on the native filesystem. So the daemon does not chown
 * after the fact: for the length of one create, the worker thread's fsuid
 * and fsgid become the caller's disk ids and its umask the caller's, and the
 * source filesystem does the rest itself.
 *
 * As root, SECBIT_NO_SETUID_FIXUP keeps CAP_DAC_OVERRIDE, CAP_CHOWN and
 * CAP_FOWNER in the effective set across setfsuid(), so the kernel checks
 * nothing twice (it already checked the view with default_permissions).
 * Credentials and (after unshare(CLONE_FS)) the umask are per thread in
 * Linux, so this is safe with any number of workers.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fs.h"
#include "log.h"

/* This thread has its own fs_struct, hence its own umask. */
static __thread bool thread_fs_private;
/* Capabilities to re-raise after setfsuid() (SFS_CREDS_CAPSET). */
static struct __user_cap_data_struct saved_caps[2];

static int caps_get(struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};

	return (int)syscall(SYS_capget, &h, d);
}

static int caps_set(const struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};

	return (int)syscall(SYS_capset, &h, d);
}

static bool cap_effective(const struct __user_cap_data_struct d[2], int cap)
{
	return d[cap / 32].effective & (1u << (cap % 32));
}

void sfs_log_unpriv(const char *what, unsigned int id)
{
	static atomic_bool said;

	if (!atomic_exchange(&said, true))
		shift_log(SHIFT_LOG_NOTICE,
			  "%s %u needs CAP_CHOWN and CAP_SETUID; running "
			  "unprivileged, such requests get EPERM",
			  what, id);
}

void sfs_creds_setup(struct sfs *fs)
{
	static const int needed[] = {CAP_SETUID,       CAP_SETGID, CAP_CHOWN,
				     CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_FSETID};
	struct __user_cap_data_struct d[2];
	size_t i;
	int bits;

	fs->euid = geteuid();
	fs->egid = getegid();
	fs->creds = SFS_CREDS_UNPRIV;
	if (caps_get(d) < 0)
		return;
	for (i = 0; i < sizeof(needed) / sizeof(needed[0]); i++)
		if (!cap_effective(d, needed[i]))
			return;
	saved_caps[0] = d[0];
	saved_caps[1] = d[1];
	fs->creds = SFS_CREDS_CAPSET;
	bits = prctl(PR_GET_SECUREBITS);
	if (bits < 0)
		return;
	if (bits & SECBIT_NO_SETUID_FIXUP ||
	    prctl(PR_SET_SECUREBITS, bits | SECBIT_NO_SETUID_FIXUP |
					     SECBIT_NO_SETUID_FIXUP_LOCKED) ==
		    0)
		fs->creds = SFS_CREDS_FSUID;
}

/* The caller's umask applies in this thread (and nowhere else). */
static bool umask_for_caller(const struct fuse_ctx *ctx)
{
	if (!thread_fs_private && unshare(CLONE_FS) == 0)
		thread_fs_private = true;
	if (!thread_fs_private)
		return false;
	umask(ctx->umask);
	return true;
}

static int creds_unpriv(struct sfs *fs, int pfd, uint32_t du, uint32_t dg,
			gid_t *fix_gid)
{
	struct stat pst;

	if (du != fs->euid) {
		sfs_log_unpriv("creating files owned by disk uid", du);
		return EPERM;
	}
	if (dg == fs->egid)
		return 0;
	/* A setgid directory decides the group itself, as natively. */
	if (fstatat(pfd, "", &pst, AT_EMPTY_PATH) == 0 &&
	    (pst.st_mode & S_ISGID))
		return 0;
	*fix_gid = dg;
	return 0;
}

/*
 * setfsuid() cannot fail loudly: it returns the old id either way. In a
 * user namespace an id outside the namespace's map is silently refused, so
 * read the ids back (-1 changes nothing) rather than create as the wrong
 * owner.
 */
static bool become(struct sfs *fs, uint32_t du, uint32_t dg)
{
	syscall(SYS_setfsgid, dg);
	syscall(SYS_setfsuid, du);
	if ((uint32_t)syscall(SYS_setfsuid, -1) != du ||
	    (uint32_t)syscall(SYS_setfsgid, -1) != dg) {
		syscall(SYS_setfsuid, fs->euid);
		syscall(SYS_setfsgid, fs->egid);
		sfs_log_unpriv("creating files owned by disk uid", du);
		return false;
	}
	if (fs->creds == SFS_CREDS_CAPSET)
		caps_set(saved_caps);
	return true;
}

int sfs_creds_enter(fuse_req_t req, int pfd, mode_t *mode, gid_t *fix_gid)
{
	struct sfs *fs = sfs_data(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	uint32_t du, dg;
	int r;

	*fix_gid = (gid_t)-1;
	if (idmap_to_disk(&fs->maps.uid, ctx->uid, &du) < 0 ||
	    idmap_to_disk(&fs->maps.gid, ctx->gid, &dg) < 0)
		return EOVERFLOW;
	if (fs->creds == SFS_CREDS_UNPRIV) {
		r = creds_unpriv(fs, pfd, du, dg, fix_gid);
		if (r)
			return r;
	} else if (!become(fs, du, dg)) {
		return EPERM;
	}
	/* Without a private umask, mask here (ignores a default ACL). */
	if (!umask_for_caller(ctx) && mode)
		*mode &= ~(mode_t)ctx->umask;
	return 0;
}

void sfs_creds_leave(fuse_req_t req)
{
	struct sfs *fs = sfs_data(req);
	int saved = errno;

	if (fs->creds != SFS_CREDS_UNPRIV) {
		syscall(SYS_setfsuid, fs->euid);
		syscall(SYS_setfsgid, fs->egid);
	}
	if (thread_fs_private)
		umask(0);
	errno = saved;
}
