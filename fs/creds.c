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
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <grp.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fcaps_xattr.h"
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

/*
 * The ids the registering thread has while its credentials are copied into
 * a FUSE backing file (passthrough.c): no file's, so that the source
 * filesystem's in_group_p() never keeps a setgid-without-group-execute mark
 * for a writer who is not in the group (root's fsgid 0 was in group 0), and
 * ext4 gives no reserved blocks to it (s_resuid 0). A root daemon has no
 * supplementary groups at all (sfs_creds_setup()).
 */
#define SFS_NO_GID ((gid_t)-2)
#define SFS_NO_UID ((uid_t)-2)

bool sfs_backing_creds(const struct sfs *fs, bool drop)
{
	static __thread bool changed;
	struct __user_cap_data_struct d[2];
	bool ok;

	if (!drop) {
		if (!changed)
			return false;
		changed = false;
		/* raw syscalls: this thread's credentials only; each returns
		 * the id before it, which says whether the change took */
		ok = (uid_t)syscall(SYS_setfsuid, fs->euid) == SFS_NO_UID;
		ok = (gid_t)syscall(SYS_setfsgid, fs->egid) == SFS_NO_GID && ok;
		return caps_set(saved_caps) == 0 && ok;
	}
	if (fs->creds == SFS_CREDS_UNPRIV || !fs->no_groups)
		return false;
	changed = true;
	syscall(SYS_setfsgid, SFS_NO_GID);
	syscall(SYS_setfsuid, SFS_NO_UID);
	memcpy(d, saved_caps, sizeof(d));
	/* CAP_SYS_RESOURCE too: quotas and ext4's reserved blocks hold */
	d[CAP_FSETID / 32].effective &= ~(1u << (CAP_FSETID % 32));
	d[CAP_SYS_RESOURCE / 32].effective &= ~(1u << (CAP_SYS_RESOURCE % 32));
	return caps_set(d) == 0;
}

bool sfs_has_cap(int cap)
{
	struct __user_cap_data_struct d[2];

	return caps_get(d) == 0 && cap_effective(d, cap);
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

/*
 * The privilege guard. A disk id is privileged when it is not itself one of
 * the map's view ids: those are the host ids the mount's users already hold,
 * any other disk id belongs to root or to some other host user. A caller
 * whose view uid is not 0 may not make a file setuid or setgid for a
 * privileged disk id, nor give it a file capability that is effective on
 * the host; on a write open or truncation of such a file it loses them.
 * Identity maps have no privileged id (the guard is off): there the kernel's
 * own rules on the view are the native ones.
 */
static void guard_setup(struct sfs *fs)
{
	fs->guard = !idmap_is_identity(&fs->maps.uid) ||
		    !idmap_is_identity(&fs->maps.gid);
}

void sfs_creds_setup(struct sfs *fs)
{
	static const int needed[] = {CAP_SETUID,       CAP_SETGID, CAP_CHOWN,
				     CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_FSETID};
	struct __user_cap_data_struct d[2];
	size_t i;
	int bits;

	guard_setup(fs);
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
	/*
	 * No supplementary groups: the daemon's own access is root's with
	 * DAC_OVERRIDE, and a backing file's credentials (passthrough.c) must
	 * be in no file's group. Only the main thread exists yet.
	 */
	fs->no_groups = setgroups(0, NULL) == 0;
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

static mode_t new_group_bits(fuse_req_t req, int pfd, mode_t mode);

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

/*
 * A new inode of a caller the guard applies to is never setuid or setgid for
 * a privileged disk id: strip those bits, as the kernel strips S_ISGID for a
 * caller outside the group. Its group is the parent's if that is setgid.
 */
static void strip_priv(const struct sfs *fs, int pfd, mode_t *mode,
		       uint32_t du, uint32_t dg)
{
	struct stat pst;

	if (!(*mode & (S_ISUID | S_ISGID)))
		return;
	if (fstatat(pfd, "", &pst, AT_EMPTY_PATH) == 0 &&
	    (pst.st_mode & S_ISGID))
		dg = pst.st_gid;
	*mode &= ~sfs_priv_bits(fs, *mode, du, dg);
}

int sfs_creds_enter(fuse_req_t req, int pfd, mode_t *mode,
		    struct sfs_group_fix *fix)
{
	struct sfs *fs = sfs_data(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	uint32_t du, dg;
	int r;

	fix->gid = (gid_t)-1;
	fix->bits = 0;
	if (idmap_to_disk(&fs->maps.uid, ctx->uid, &du) < 0 ||
	    idmap_to_disk(&fs->maps.gid, ctx->gid, &dg) < 0)
		return EOVERFLOW;
	if (fs->creds == SFS_CREDS_UNPRIV) {
		r = creds_unpriv(fs, pfd, du, dg, &fix->gid);
		if (r)
			return r;
	} else if (!become(fs, du, dg)) {
		return EPERM;
	}
	if (mode && !sfs_trusted(req))
		strip_priv(fs, pfd, mode, du, dg);
	/* Without a private umask, mask here (ignores a default ACL). */
	if (!umask_for_caller(ctx) && mode)
		*mode &= ~(mode_t)ctx->umask;
	if (fix->gid != (gid_t)-1 && mode) {
		fix->bits = new_group_bits(req, pfd, *mode);
		*mode &= ~(mode_t)070;
	}
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

bool sfs_trusted(fuse_req_t req)
{
	return fuse_req_ctx(req)->uid == 0 || !sfs_data(req)->guard;
}

bool sfs_priv_uid(const struct sfs *fs, uint32_t disk)
{
	uint32_t unused;

	return fs->guard && idmap_to_disk(&fs->maps.uid, disk, &unused) < 0;
}

bool sfs_priv_gid(const struct sfs *fs, uint32_t disk)
{
	uint32_t unused;

	return fs->guard && idmap_to_disk(&fs->maps.gid, disk, &unused) < 0;
}

mode_t sfs_priv_bits(const struct sfs *fs, mode_t mode, uid_t uid, gid_t gid)
{
	mode_t bits = 0;

	if (S_ISDIR(mode))
		return 0; /* setgid on a directory only passes the group on */
	if ((mode & S_ISUID) && sfs_priv_uid(fs, uid))
		bits |= S_ISUID;
	/* setgid without group execute is a locking mark, no privilege */
	if ((mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP) &&
	    sfs_priv_gid(fs, gid))
		bits |= S_ISGID;
	return bits;
}

mode_t sfs_priv_gain(const struct sfs *fs, mode_t old, mode_t mode, uid_t uid,
		     gid_t gid)
{
	mode_t kept = 0;

	mode = (old & S_IFMT) | (mode & 07777);
	if (!(mode & ~old & (S_IXUSR | S_IXGRP | S_IXOTH)))
		kept = sfs_priv_bits(fs, old, uid, gid);
	return sfs_priv_bits(fs, mode, uid, gid) & ~kept;
}

void sfs_guard_mode(fuse_req_t req, const char *path)
{
	struct sfs *fs = sfs_data(req);
	struct stat st;
	mode_t bits;

	if (sfs_trusted(req) || stat(path, &st) < 0)
		return;
	/*
	 * Not only the bits the ACL's mode gained: a named entry can widen
	 * who may run a setuid file without changing one mode bit (4750 and
	 * u:X:rx keep the mask r-x), so an untrusted caller's access ACL on
	 * a file that is privileged afterwards clears its privileged bits.
	 */
	bits = sfs_priv_bits(fs, st.st_mode, st.st_uid, st.st_gid);
	if (bits && chmod(path, st.st_mode & ~bits & 07777) < 0)
		shift_log(SHIFT_LOG_WARNING, "clearing setuid/setgid after an "
			  "ACL change: %s", strerror(errno));
}

bool sfs_priv_fcaps(const struct sfs *fs, const void *value, size_t size)
{
	uint32_t rootid = 0;
	int rev = fcaps_xattr_revision(value, size);

	if (rev < 0)
		return false; /* not capabilities the kernel would honour */
	if (rev == 3)
		fcaps_xattr_rootid(value, size, &rootid);
	/* v1 and v2 are for root of the initial namespace: disk uid 0 */
	return sfs_priv_uid(fs, rootid);
}

/* Clear the privileged setuid/setgid bits of fd, a regular file whose
 * /proc path is path (st: its attributes). 0 or a positive errno. */
static int disarm_bits(const struct sfs *fs, const char *path,
		       const struct stat *st)
{
	mode_t bits = sfs_priv_bits(fs, st->st_mode, st->st_uid, st->st_gid);

	if (bits && chmod(path, st->st_mode & ~bits & 07777) < 0)
		return errno;
	return bits ? -1 : 0; /* -1: changed */
}

/* Remove a file capability of fd that is effective for a privileged id. */
static int disarm_fcaps(const struct sfs *fs, const char *path)
{
	char caps[FCAPS_XATTR_MAX];
	ssize_t n = getxattr(path, FCAPS_XATTR, caps, sizeof(caps));

	if (n < 0 && errno == ERANGE)
		n = (ssize_t)sizeof(caps) + 1; /* no valid value is that big */
	if (n > 0 && (n > (ssize_t)sizeof(caps) ||
		      sfs_priv_fcaps(fs, caps, (size_t)n)) &&
	    removexattr(path, FCAPS_XATTR) < 0 && errno != ENODATA)
		return errno;
	return 0;
}

void sfs_mode_changed(fuse_req_t req, fuse_ino_t ino)
{
	/*
	 * The kernel keeps the mode it was given until the attribute timeout
	 * (a write's or an open's reply carries none): with -o suid an execve
	 * through the mount in that window would still run the file setuid.
	 * Attributes only (offset -1): no page is waited for.
	 */
	fuse_lowlevel_notify_inval_inode(sfs_data(req)->se, ino, -1, 0);
}

int sfs_disarm(fuse_req_t req, fuse_ino_t ino, int fd, bool fcaps)
{
	struct sfs *fs = sfs_data(req);
	char path[SFS_PROC_PATH_MAX];
	struct stat st;
	bool changed;
	int err;

	if (sfs_trusted(req))
		return 0;
	if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return errno;
	if (!S_ISREG(st.st_mode))
		return 0;
	sfs_proc_path(path, sizeof(path), fd);
	err = disarm_bits(fs, path, &st);
	changed = err < 0;
	if (err < 0)
		err = 0;
	if (!err && fcaps)
		err = disarm_fcaps(fs, path);
	if (changed)
		sfs_mode_changed(req, ino);
	return err;
}

/* Is view gid one of the caller's groups? */
static bool caller_in_group(fuse_req_t req, gid_t gid)
{
	gid_t groups[64];
	int i, n;

	if (fuse_req_ctx(req)->gid == gid)
		return true;
	n = fuse_req_getgroups(req, 64, groups);
	for (i = 0; i < n && i < 64; i++)
		if (groups[i] == gid)
			return true;
	/* More than 64 groups, or /proc unreadable: no (clears a mark). */
	return false;
}

/*
 * Does the caller hold CAP_FSETID in the daemon's user namespace (the
 * initial one, where the kernel tests it for the native killpriv)? Asked
 * only for setuid/setgid files: /proc/PID/status and /proc/PID/ns/user of
 * the caller's thread. Unreadable, or a kernel request (pid 0): no.
 */
static bool caller_fsetid(fuse_req_t req)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	char path[64], line[256];
	struct stat mine, theirs;
	bool cap = false;
	FILE *f;

	if (ctx->uid != 0 || ctx->pid <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)ctx->pid);
	if (stat(path, &theirs) < 0 || stat("/proc/self/ns/user", &mine) < 0 ||
	    theirs.st_ino != mine.st_ino || theirs.st_dev != mine.st_dev)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)ctx->pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long eff;

		if (sscanf(line, "CapEff: %llx", &eff) == 1) {
			cap = eff & (1ull << CAP_FSETID);
			break;
		}
	}
	fclose(f);
	return cap;
}

int sfs_killpriv(fuse_req_t req, fuse_ino_t ino, int fd)
{
	struct sfs *fs = sfs_data(req);
	char path[SFS_PROC_PATH_MAX];
	struct stat st;
	mode_t kill = 0;
	uint32_t view;

	if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISREG(st.st_mode) || !(st.st_mode & (S_ISUID | S_ISGID)))
		return 0;
	if (caller_fsetid(req))
		return 0;
	if (st.st_mode & S_ISUID)
		kill |= S_ISUID;
	if ((st.st_mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP))
		kill |= S_ISGID;
	/*
	 * A setgid-without-group-execute mark stays for a writer in the
	 * file's group (in_group_or_capable(); the capable part, over the
	 * inode in the caller's own namespace, is not known here: stricter).
	 */
	else if ((st.st_mode & S_ISGID) &&
		 (idmap_to_view(&fs->maps.gid, st.st_gid, &view) < 0 ||
		  !caller_in_group(req, view)))
		kill |= S_ISGID;
	if (!kill)
		return 0;
	sfs_proc_path(path, sizeof(path), fd);
	if (chmod(path, st.st_mode & ~kill & 07777) < 0)
		return errno;
	sfs_mode_changed(req, ino);
	return 0;
}

/*
 * The group bits (mode & 070) the kernel gives a new entry of mode made
 * in pfd: the caller's umask, or, under a default ACL, its mask (or
 * owning group) entry instead (posix_acl_create()).
 */
static mode_t new_group_bits(fuse_req_t req, int pfd, mode_t mode)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	unsigned char acl[4 + 8 * 256];
	char path[SFS_PROC_PATH_MAX];
	mode_t g = mode & 070, perm = 8;
	ssize_t n, i;

	sfs_proc_path(path, sizeof(path), pfd);
	n = getxattr(path, "system.posix_acl_default", acl, sizeof(acl));
	if (n < 4 + 8)
		return g & ~(mode_t)ctx->umask;
	/* header (version), then entries: tag, perm (le16), id (le32) */
	for (i = 4; i + 8 <= n; i += 8) {
		uint16_t tag, p;

		memcpy(&tag, acl + i, sizeof(tag));
		memcpy(&p, acl + i + 2, sizeof(p));
		tag = le16toh(tag);
		p = le16toh(p);

		if (tag == 0x10 /* ACL_MASK */ ||
		    (tag == 0x04 /* ACL_GROUP_OBJ */ && perm == 8))
			perm = p & 7;
	}
	return perm == 8 ? g : g & (perm << 3);
}

int sfs_group_fix(const struct sfs_group_fix *fix, int fd)
{
	char path[SFS_PROC_PATH_MAX];
	struct stat st;

	if (fix->gid == (gid_t)-1)
		return 0;
	if (fchownat(fd, "", (uid_t)-1, fix->gid,
		     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
		sfs_log_unpriv("creating files owned by disk gid", fix->gid);
		return EPERM;
	}
	if (fstat(fd, &st) < 0)
		return errno;
	if (S_ISLNK(st.st_mode) || (st.st_mode & 070) == fix->bits)
		return 0;
	/* fd may be O_PATH: chmod through its /proc link, which reaches the
	 * inode itself, never a name. */
	sfs_proc_path(path, sizeof(path), fd);
	if (chmod(path, (st.st_mode & 07707) | fix->bits) < 0)
		return errno;
	return 0;
}
