/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * FUSE passthrough (kernel 6.9+, CONFIG_FUSE_PASSTHROUGH): the kernel reads
 * and writes an open file's data straight on a backing file of the source
 * that the daemon registered (FUSE_DEV_IOC_BACKING_OPEN), so no READ or
 * WRITE request is sent at all and the data sits in the source's own page
 * cache, coherent with every other user of the file. libfuse 3.14 knows
 * none of it: the INIT reply gets FUSE_PASSTHROUGH and max_stack_depth 1
 * (sfs_passthrough_init_reply(), from killpriv.c's writev), and an OPEN or
 * CREATE reply gets FOPEN_PASSTHROUGH and the backing id on its way out of
 * the thread that armed it (sfs_passthrough_patch()).
 *
 * When: registering a backing file needs CAP_SYS_ADMIN (a root daemon; the
 * first EPERM turns it off for the mount), not with -o writeback (the
 * kernel refuses both), -o suid (see sfs_passthrough_wanted()) nor
 * -o nopassthrough, only for regular files on
 * SRC's own local filesystem (the FOPEN_NOFLUSH list; an overlay or FUSE
 * source would stack too deep) that are not setuid or setgid. The kernel
 * opens a backing file of its own for each open, with that open's flags
 * (O_APPEND, O_DIRECT, the access mode), from the registered file's path
 * and credentials; it wants every open of an inode to use the one
 * registered file while any passthrough open lives, and no passthrough
 * open beside a cached one (it fails such an open with EIO). So the choice
 * is per inode, counted under a lock striped by inode (the counts are
 * dropped at RELEASE, after the kernel dropped its own, so they never
 * undercount): an open of an inode with no other open registers the
 * inode's O_PATH fd (start()) and is passed through, as is every later
 * open until the last one is
 * released; with a cached open living (a setuid file's, say), every open
 * is cached as before (reads spliced by the daemon, setuid bits cleared by
 * sfs_killpriv() on each WRITE).
 *
 * Killpriv: a passthrough write is the backing file's write, done by the
 * source filesystem with the credentials the daemon registered it with.
 * Those are the daemon's minus CAP_FSETID and CAP_SYS_RESOURCE, in no
 * file's group (sfs_backing_creds()), so a file made setuid or setgid while
 * it is open loses the bit on the next write, as natively for every writer
 * without CAP_FSETID outside the group (stricter for one with it or in the
 * group);
 * security.capability is dropped as for any writer; quotas and ext4's
 * reserved blocks hold for a passthrough write as for an unprivileged one.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/fuse.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fs.h"
#include "log.h"

/* The 6.9 uapi, which bookworm's linux-libc-dev 6.1 predates. */
#define SFS_FUSE_PASSTHROUGH_FLAG2 (1u << (37 - 32)) /* FUSE_PASSTHROUGH */
#define SFS_FOPEN_PASSTHROUGH (1u << 7)
struct sfs_backing_map {
	int32_t fd;
	uint32_t flags;
	uint64_t padding;
};
#define SFS_FUSE_DEV_IOC_BACKING_OPEN _IOW(229, 1, struct sfs_backing_map)
#define SFS_FUSE_DEV_IOC_BACKING_CLOSE _IOW(229, 2, uint32_t)

/* The 6.9 layout of struct fuse_open_out: padding became backing_id. */
struct sfs_open_out {
	uint64_t fh;
	uint32_t open_flags;
	int32_t backing_id;
};

/*
 * The backing id this thread's next OPEN/CREATE reply carries (0: none),
 * and the fh that reply has: a reply with another fh is not the one.
 */
static __thread int32_t reply_backing_id;
static __thread uint64_t reply_fh;

void sfs_passthrough_init_reply(struct fuse_init_out *out)
{
	/* The unused[0] of libfuse's struct is max_stack_depth since 7.40. */
	out->flags |= FUSE_INIT_EXT;
	out->flags2 |= SFS_FUSE_PASSTHROUGH_FLAG2;
	out->unused[0] = 1;
}

bool sfs_passthrough_wanted(const struct sfs *fs)
{
	/*
	 * Not on a -o suid mount: a passthrough write that clears a setuid
	 * bit on the source tells the kernel's cached mode nothing, and an
	 * execve through the mount before the attribute timeout would still
	 * run the new content setuid (the daemon's own clearing drops the
	 * cached attributes: sfs_mode_changed()).
	 */
	return !fs->nopassthrough && !fs->writeback && !fs->suid;
}

void sfs_passthrough_patch(const struct iovec *iov, int iovcnt)
{
	const struct fuse_out_header *h = iov[0].iov_base;
	struct sfs_open_out *o;
	int32_t id = reply_backing_id;

	reply_backing_id = 0;
	/* OPEN: the open_out alone; CREATE: entry_out, then open_out. */
	if (iovcnt != 2 || iov[0].iov_len != sizeof(*h) || h->error != 0 ||
	    (iov[1].iov_len != sizeof(*o) &&
	     iov[1].iov_len != sizeof(struct fuse_entry_out) + sizeof(*o)) ||
	    h->len != sizeof(*h) + iov[1].iov_len)
		return;
	o = (struct sfs_open_out *)((char *)iov[1].iov_base + iov[1].iov_len -
				    sizeof(*o));
	if (o->fh != reply_fh)
		return;
	o->open_flags |= SFS_FOPEN_PASSTHROUGH;
	o->backing_id = id;
}

bool sfs_passthrough_armed(void)
{
	return reply_backing_id != 0;
}

void sfs_passthrough_arm(const struct sfs_inode *inode, uint64_t fh)
{
	/* pt_id is fixed while this open holds one of pt_users */
	reply_backing_id = (fh & SFS_FH_PT) ? inode->pt_id : 0;
	reply_fh = fh;
}

void sfs_passthrough_disarm(void)
{
	reply_backing_id = 0;
}

static pthread_mutex_t *stripe(struct sfs *fs, const struct sfs_inode *inode)
{
	uintptr_t h = (uintptr_t)inode >> 6;

	return &fs->pt_locks[(h ^ (h >> 7)) % SFS_PT_LOCKS];
}

static void backing_close(struct sfs *fs, int32_t id);
static void say_off(struct sfs *fs, const char *why);

static int backing_open(struct sfs *fs, int fd)
{
	struct sfs_backing_map map = {.fd = fd};
	int id = -1, err = EPERM;

	/* Never register one that would keep setuid bits (above). */
	if (sfs_backing_creds(fs, true)) {
		id = ioctl(fuse_session_fd(fs->se),
			   SFS_FUSE_DEV_IOC_BACKING_OPEN, &map);
		err = id < 0 ? errno : 0;
	}
	if (!sfs_backing_creds(fs, false) && id > 0) {
		backing_close(fs, id); /* registered with the wrong ones */
		id = -1;
		err = EPERM;
	}
	if (id > 0)
		return id;
	if (err == EPERM || err == ENOTTY || err == ENOSYS)
		/* Not root, or a kernel without it: off for the mount. */
		say_off(fs, strerror(err));
	return -(err ? err : EIO);
}

static void backing_close(struct sfs *fs, int32_t id)
{
	uint32_t i = (uint32_t)id;

	if (ioctl(fuse_session_fd(fs->se), SFS_FUSE_DEV_IOC_BACKING_CLOSE, &i) <
	    0)
		shift_log(SHIFT_LOG_WARNING, "closing FUSE backing file %d: %s",
			  id, strerror(errno));
}

/* Can an open of a file on device dev start passthrough? */
static bool can_start(struct sfs *fs, dev_t dev)
{
	return sfs_passthrough_wanted(fs) && !atomic_load(&fs->pt_off) &&
	       fs->local && dev == fs->root.dev;
}

/*
 * Make inode's file its backing file. Stripe held. What is registered is
 * the inode's own O_PATH fd (sfs_iget(): the very inode, by handle, no path
 * resolved): the kernel uses the registered file only for its path and
 * credentials (it opens a backing file of its own per open), and it lives
 * as long as any open of the inode does, readers' included. An O_PATH file
 * holds no access at all, so it neither keeps the source's file busy for
 * execve (ETXTBSY, as a write open there would after its last writer
 * closed) nor costs an open of the file.
 */
static bool start(struct sfs *fs, struct sfs_inode *inode, int fd,
		  const struct stat *known)
{
	struct stat mine;
	const struct stat *st = known;
	int id, pfd;

	if (inode->pt_users > 0 || inode->pt_cached > 0)
		return false;
	if (!st) {
		if (fstat(fd, &mine) < 0)
			return false;
		st = &mine;
	}
	if (!S_ISREG(st->st_mode) || st->st_dev != inode->dev ||
	    st->st_ino != inode->ino || (st->st_mode & (S_ISUID | S_ISGID)))
		return false;
	pfd = sfs_iget(fs, inode);
	if (pfd < 0)
		return false;
	id = backing_open(fs, pfd);
	sfs_iput(fs, inode);
	if (id <= 0)
		return false;
	inode->pt_id = id;
	inode->pt_users = 1;
	return true;
}

/*
 * A new open of inode, fd: passed through when a passthrough open of the
 * inode lives (the kernel wants the same backing file then) or when it
 * can start one; counted in *fh either way. Stripe held.
 */
static void count(struct sfs *fs, struct sfs_inode *inode, int fd,
		  const struct stat *st, uint64_t *fh)
{
	*fh = (uint64_t)fd;
	if (inode->pt_users > 0) {
		inode->pt_users++;
		*fh |= SFS_FH_PT;
	} else if (inode->pt_cached == 0 && can_start(fs, inode->dev) &&
		   start(fs, inode, fd, st)) {
		*fh |= SFS_FH_PT;
	} else if (sfs_passthrough_wanted(fs)) {
		inode->pt_cached++;
		*fh |= SFS_FH_CACHED;
	}
}

void sfs_passthrough_count(struct sfs *fs, struct sfs_inode *inode, int fd,
			   const struct stat *st, uint64_t *fh)
{
	pthread_mutex_t *lock = stripe(fs, inode);

	pthread_mutex_lock(lock);
	count(fs, inode, fd, st, fh);
	pthread_mutex_unlock(lock);
}

void sfs_passthrough_release(struct sfs *fs, struct sfs_inode *inode,
			     uint64_t fh)
{
	pthread_mutex_t *lock = stripe(fs, inode);

	if (!(fh & (SFS_FH_PT | SFS_FH_CACHED)))
		return;
	pthread_mutex_lock(lock);
	if (fh & SFS_FH_CACHED) {
		inode->pt_cached--;
	} else if (--inode->pt_users == 0) {
		backing_close(fs, inode->pt_id);
		inode->pt_id = 0;
	}
	pthread_mutex_unlock(lock);
}

static void say_off(struct sfs *fs, const char *why)
{
	if (atomic_exchange(&fs->pt_off, true) == false)
		shift_log(SHIFT_LOG_INFO,
			  "FUSE passthrough unavailable (%s): reads and writes "
			  "go through the daemon",
			  why);
}

void sfs_passthrough_setup(struct sfs *fs)
{
	size_t i;

	for (i = 0; i < SFS_PT_LOCKS; i++)
		pthread_mutex_init(&fs->pt_locks[i], NULL);
	/*
	 * Registering needs CAP_SYS_ADMIN: without it the INIT reply does not
	 * ask for passthrough either (the kernel would stack the mount one
	 * deeper for nothing: max_stack_depth).
	 */
	if (sfs_passthrough_wanted(fs) &&
	    (fs->creds == SFS_CREDS_UNPRIV || !sfs_has_cap(CAP_SYS_ADMIN)))
		say_off(fs, "no CAP_SYS_ADMIN");
}

bool sfs_passthrough_init_wanted(struct sfs *fs)
{
	return sfs_passthrough_wanted(fs) && !atomic_load(&fs->pt_off);
}
