/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * File ops: create and open (the fd in fi->fh is a real open file of the
 * source), then pure passthrough on it: splice read (fuse_reply_data with an
 * fd buffer) and splice write (write_buf), fsync, fallocate,
 * copy_file_range, lseek. Locks are not implemented on purpose: the kernel
 * then handles flock and POSIX locks locally on the mount.
 */
#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "fs.h"
#include "log.h"

static int open_flags(const struct sfs *fs, int flags)
{
	/*
	 * O_DIRECT is the kernel's business on the mount (it sends direct
	 * requests); our buffers are not aligned for it (EINVAL), and the
	 * source's page cache stays coherent for everyone else.
	 */
	flags &= ~(O_CREAT | O_EXCL | O_NOCTTY | O_DIRECT);
	if (fs->writeback) {
		/* The kernel may read pages of a write-only file... */
		if ((flags & O_ACCMODE) == O_WRONLY)
			flags = (flags & ~O_ACCMODE) | O_RDWR;
		/* ...and appends at the end it knows itself. */
		flags &= ~O_APPEND;
	}
	return flags;
}

static int64_t time_ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

/* Cache flags for an open file of inode (fd is the new open file). */
static void set_cache_flags(struct sfs *fs, struct sfs_inode *inode, int fd,
			    struct fuse_file_info *fi)
{
	struct stat st;

	if (fs->cache == SFS_CACHE_ALWAYS) {
		fi->keep_cache = 1;
		return;
	}
	if (fs->cache == SFS_CACHE_NEVER || fstat(fd, &st) < 0)
		return;
	/* cache=auto: keep the page cache if the file did not change. */
	pthread_mutex_lock(&fs->table.lock);
	if (inode->open_mtime == time_ns(&st.st_mtim) &&
	    inode->open_size == st.st_size && st.st_mtim.tv_sec != 0)
		fi->keep_cache = 1;
	inode->open_mtime = time_ns(&st.st_mtim);
	inode->open_size = st.st_size;
	pthread_mutex_unlock(&fs->table.lock);
}

/*
 * Is close() on the source filesystem of dev never an error report? Then
 * the kernel need not send FLUSH at each close (FOPEN_NOFLUSH): a FLUSH is
 * a dup()+close() of our fd, to hand on what close() would say, and on
 * these local filesystems it says nothing (no delayed write errors at
 * close, as NFS or a FUSE source has). Locks need no FLUSH either: the
 * kernel keeps them (no lock ops). With -o writeback the kernel flushes
 * dirty pages at close and ignores FOPEN_NOFLUSH. Decided once for SRC's
 * own filesystem (sfs_flush_setup()); inodes of other devices keep FLUSH.
 */
void sfs_flush_setup(struct sfs *fs)
{
	static const long local[] = {EXT4_SUPER_MAGIC, XFS_SUPER_MAGIC,
				     BTRFS_SUPER_MAGIC, TMPFS_MAGIC,
				     F2FS_SUPER_MAGIC, RAMFS_MAGIC};
	struct statfs st;
	size_t i;

	fs->local = false;
	if (fstatfs(fs->root.fd, &st) < 0)
		return;
	for (i = 0; i < sizeof(local) / sizeof(local[0]); i++)
		if ((long)st.f_type == local[i])
			fs->local = true;
}

static void set_noflush(const struct sfs *fs, const struct sfs_inode *inode,
			struct fuse_file_info *fi)
{
	if (fs->local && inode->dev == fs->root.dev)
		fi->noflush = 1;
}

/*
 * The open flags of the reply. A passthrough open's data is in the source's
 * page cache, not the mount's: no FOPEN_KEEP_CACHE (the kernel fails such
 * an open with EIO).
 */
static void set_open_flags(struct sfs *fs, struct sfs_inode *inode, int fd,
			   struct fuse_file_info *fi)
{
	if (!(fi->fh & SFS_FH_PT))
		set_cache_flags(fs, inode, fd, fi);
	set_noflush(fs, inode, fi);
}

/*
 * A create either leaves a file that the caller got, or nothing: a step that
 * fails after the file was made removes it again.
 *
 * The kernel sends CREATE only because its dentry was negative, so it
 * checked nothing about a file that appeared at name meanwhile. Opening that
 * file here would open it with the daemon's privileges (CAP_DAC_OVERRIDE: a
 * 0600 file, O_TRUNC, a FIFO that blocks a worker). So an existing name is
 * never opened: without O_EXCL the reply is ESTALE, on which the VFS
 * (do_filp_open) retries the whole open once with LOOKUP_REVAL; the retry's
 * lookup finds the file, and the kernel checks permission on the view and
 * sends a plain OPEN, exactly as for any existing file.
 */
static int do_create(fuse_req_t req, fuse_ino_t parent, int pfd,
		     const char *name, mode_t mode, struct fuse_file_info *fi)
{
	struct sfs *fs = sfs_data(req);
	struct fuse_entry_param e;
	struct sfs_inode *inode;
	struct stat st;
	int fd, err, flags;
	struct sfs_group_fix fix;

	err = sfs_creds_enter(req, pfd, &mode, &fix);
	if (err)
		return err;
	/* Never follow a symlink planted at name since the kernel looked. */
	flags = open_flags(fs, fi->flags) | O_NOFOLLOW;
	fd = openat(pfd, name, flags | O_CREAT | O_EXCL, mode);
	err = fd < 0 ? errno : 0;
	sfs_creds_leave(req);
	if (err == EEXIST && !(fi->flags & O_EXCL))
		return ESTALE; /* the kernel looks again and checks (above) */
	if (err)
		return sfs_note_err(err);
	err = sfs_group_fix(&fix, fd);
	if (err) {
		close(fd);
		sfs_undo_create(pfd, name, false);
		return err;
	}
	if (fs->test_create_pause_ms) /* test hook: widen the race below */
		usleep(fs->test_create_pause_ms * 1000u);
	if (fs->test_fail_after_create)
		err = EIO; /* test hook: a failure after the file exists */
	else
		err = sfs_do_lookup(req, parent, name, &e);
	if (err) {
		close(fd);
		sfs_undo_create(pfd, name, false);
		return err;
	}
	inode = sfs_inode(req, e.ino);
	/*
	 * The name is another file since the openat() (rule 1: someone who
	 * may rename in the directory swapped it in). Never hand the kernel
	 * an open of that inode: with a passthrough open of it living, this
	 * open would be one more of its registered backing file, O_RDWR with
	 * no permission checked on it. Lost like an existing name (above).
	 */
	if (fstat(fd, &st) < 0 || st.st_dev != inode->dev ||
	    st.st_ino != inode->ino) {
		close(fd);
		sfs_unref(fs, inode, 1);
		return ESTALE;
	}
	sfs_passthrough_count(fs, inode, fd, &st, &fi->fh);
	set_open_flags(fs, inode, fd, fi);
	sfs_passthrough_arm(inode, fi->fh);
	err = fuse_reply_create(req, &e, fi);
	sfs_passthrough_disarm();
	if (err != 0) {
		/* The kernel is gone (interrupted): drop what it never saw. */
		sfs_passthrough_release(fs, inode, fi->fh);
		close(fd);
		sfs_unref(fs, sfs_inode(req, e.ino), 1);
		sfs_undo_create(pfd, name, false);
	}
	return 0;
}

void sfs_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		mode_t mode, struct fuse_file_info *fi)
{
	struct sfs *fs = sfs_data(req);
	int pfd = sfs_get(req, parent), err;

	if (pfd < 0)
		return (void)fuse_reply_err(req, -pfd);
	err = do_create(req, parent, pfd, name, mode, fi);
	sfs_put(fs, parent);
	if (err)
		fuse_reply_err(req, err);
}

/* The reply to an OPEN whose file is fd (consumed). */
static void reply_open(fuse_req_t req, struct sfs_inode *inode, int fd,
		       struct fuse_file_info *fi)
{
	struct sfs *fs = sfs_data(req);

	sfs_passthrough_count(fs, inode, fd, NULL, &fi->fh);
	set_open_flags(fs, inode, fd, fi);
	sfs_passthrough_arm(inode, fi->fh);
	if (fuse_reply_open(req, fi) != 0) {
		sfs_passthrough_disarm();
		sfs_passthrough_release(fs, inode, fi->fh);
		close(fd);
		return;
	}
	sfs_passthrough_disarm();
}

/*
 * An open that must wait for a lease to break waits in a thread of its
 * own, never in a worker. A host user who holds leases (F_SETLEASE) on
 * files of its own below SRC and opens them through the mount had every
 * worker wait up to lease-break-time (45 s by default) per open, again and
 * again (red team). The open is tried with O_NONBLOCK (EWOULDBLOCK: a
 * lease is being broken, its holder told); a waiting open takes one of
 * SFS_LEASE_WAITERS threads, and with all of them taken the caller gets
 * EAGAIN.
 */
#define SFS_LEASE_WAITERS 64

struct lease_wait {
	fuse_req_t req;
	struct sfs_inode *inode; /* pinned (sfs_iget) until the open ends */
	int flags;
	struct fuse_file_info fi;
	char path[SFS_PROC_PATH_MAX];
};

static atomic_uint lease_waiters;

static void *lease_wait(void *arg)
{
	struct lease_wait *w = arg;
	struct sfs *fs = sfs_data(w->req);
	int fd = open(w->path, w->flags);
	int err = fd < 0 ? errno : 0;

	sfs_iput(fs, w->inode);
	if (err)
		fuse_reply_err(w->req, sfs_note_err(err));
	else
		reply_open(w->req, w->inode, fd, &w->fi);
	free(w);
	atomic_fetch_sub(&lease_waiters, 1);
	return NULL;
}

/* 0 if a lease waiter took the open (it replies), else an errno. */
static int wait_for_lease(fuse_req_t req, struct sfs_inode *inode,
			  const char *path, int flags,
			  const struct fuse_file_info *fi)
{
	static atomic_bool logged;
	struct lease_wait *w;

	if (atomic_fetch_add(&lease_waiters, 1) >= SFS_LEASE_WAITERS) {
		atomic_fetch_sub(&lease_waiters, 1);
		if (!atomic_exchange(&logged, true))
			shift_log(SHIFT_LOG_WARNING,
				  "%u opens wait for leases to break: more "
				  "get EAGAIN",
				  SFS_LEASE_WAITERS);
		return EAGAIN;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		atomic_fetch_sub(&lease_waiters, 1);
		return ENOMEM;
	}
	w->req = req;
	w->inode = inode;
	w->flags = flags;
	w->fi = *fi;
	snprintf(w->path, sizeof(w->path), "%s", path);
	if (sfs_thread_start(lease_wait, w, NULL) != 0) {
		free(w);
		atomic_fetch_sub(&lease_waiters, 1);
		return EAGAIN;
	}
	return 0;
}

bool sfs_lease_finish(void)
{
	int i;

	for (i = 0; i < 200 && atomic_load(&lease_waiters); i++)
		usleep(10000);
	return !atomic_load(&lease_waiters);
}

void sfs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct sfs *fs = sfs_data(req);
	struct sfs_inode *inode = sfs_inode(req, ino);
	char path[SFS_PROC_PATH_MAX];
	int fd, ofd, err, flags;

	if (inode->flags & SFS_INODE_SYMLINK)
		return (void)fuse_reply_err(req, ELOOP);
	ofd = sfs_iget(fs, inode);
	if (ofd < 0)
		return (void)fuse_reply_err(req, -ofd);
	/* No write to a privileged setuid/capable file keeps it so (creds.c) */
	err = 0;
	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC))
		err = sfs_disarm(req, ino, ofd, true);
	if (err) {
		sfs_iput(fs, inode);
		return (void)fuse_reply_err(req, err);
	}
	/* Reopen the O_PATH fd: the same inode, no path resolved again. */
	sfs_proc_path(path, sizeof(path), ofd);
	flags = open_flags(fs, fi->flags) & ~O_NOFOLLOW;
	fd = open(path, flags | O_NONBLOCK);
	err = fd < 0 ? errno : 0;
	if (err == EWOULDBLOCK && !(flags & O_NONBLOCK)) {
		/* A lease is being broken: the wait is another thread's. */
		err = wait_for_lease(req, inode, path, flags, fi);
		if (!err)
			return;
	} else if (!err && !(flags & O_NONBLOCK)) {
		err = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0
			      ? errno
			      : 0;
		if (err)
			close(fd);
	}
	sfs_iput(fs, inode);
	if (err)
		return (void)fuse_reply_err(req, sfs_note_err(err));
	reply_open(req, inode, fd, fi);
}

void sfs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	sfs_passthrough_release(sfs_data(req), sfs_inode(req, ino), fi->fh);
	close((int)fi->fh);
	fuse_reply_err(req, 0);
}

void sfs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	/* close() of a duplicate reports what close() of the file would. */
	int fd = dup((int)fi->fh), res = 0;

	(void)ino;
	if (fd < 0)
		/*
		 * Out of fds: nothing to report about the file itself (its
		 * real close comes at RELEASE); an error here would make the
		 * caller's close() fail on a file that is fine.
		 */
		sfs_note_err(errno);
	else if (close(fd) < 0)
		res = errno;
	fuse_reply_err(req, res);
}

void sfs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
	       struct fuse_file_info *fi)
{
	int fd = (int)fi->fh;
	int res = datasync ? fdatasync(fd) : fsync(fd);

	(void)ino;
	fuse_reply_err(req, res < 0 ? errno : 0);
}

void sfs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	      struct fuse_file_info *fi)
{
	struct fuse_bufvec buf = FUSE_BUFVEC_INIT(size);

	(void)ino;
	buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	buf.buf[0].fd = (int)fi->fh;
	buf.buf[0].pos = off;
	fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
}

/*
 * Drop the mount's cached pages of a range written directly, then reply.
 * The kernel waits there, unkillably, for every page of the range that a
 * reader has locked while its READ waits for us; a serving thread that
 * waited so would be one fewer to serve those READs, and a container
 * with as many files as threads (one direct write in flight per file)
 * would stop the mount for everyone (the red team's
 * test_loop_redteam_direct_inval.py). So no serving thread waits: one
 * thread of the daemon's own drops and replies, in order, and the
 * serving threads stay free for the READs it waits on. Each queued entry
 * is a write the kernel still waits for, so the queue is bounded by the
 * requests the kernel has in flight.
 */
struct direct_reply {
	struct direct_reply *next;
	struct fuse_session *se;
	fuse_req_t req;
	fuse_ino_t ino;
	off_t off;
	size_t len;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t more, idle;
	struct direct_reply *head, **tail;
	bool started, failed, busy;
} dropper = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.more = PTHREAD_COND_INITIALIZER,
	.idle = PTHREAD_COND_INITIALIZER,
	.tail = &dropper.head,
};

static void *dropper_thread(void *arg)
{
	struct direct_reply *r;

	(void)arg;
	pthread_mutex_lock(&dropper.lock);
	for (;;) {
		dropper.busy = false;
		pthread_cond_broadcast(&dropper.idle);
		while (!dropper.head)
			pthread_cond_wait(&dropper.more, &dropper.lock);
		r = dropper.head;
		dropper.head = r->next;
		if (!dropper.head)
			dropper.tail = &dropper.head;
		dropper.busy = true;
		pthread_mutex_unlock(&dropper.lock);
		fuse_lowlevel_notify_inval_inode(r->se, r->ino, r->off,
						 (off_t)r->len);
		fuse_reply_write(r->req, r->len);
		free(r);
		pthread_mutex_lock(&dropper.lock);
	}
	return NULL;
}

/* Started on the first direct write; false when it cannot be. Called
 * with dropper.lock held. */
static bool dropper_running(void)
{
	int err;

	if (dropper.started || dropper.failed)
		return dropper.started;
	err = sfs_thread_start(dropper_thread, NULL, NULL);
	if (err) {
		shift_log(SHIFT_LOG_WARNING,
			  "cannot start the thread for direct writes: %s",
			  strerror(err));
		dropper.failed = true;
		return false;
	}
	dropper.started = true;
	return true;
}

static void direct_written(struct sfs *fs, fuse_req_t req, fuse_ino_t ino,
			   off_t off, size_t len)
{
	struct direct_reply *r = malloc(sizeof(*r));

	if (r) {
		*r = (struct direct_reply){NULL, fs->se, req, ino, off, len};
		pthread_mutex_lock(&dropper.lock);
		if (dropper_running()) {
			*dropper.tail = r;
			dropper.tail = &r->next;
			pthread_cond_signal(&dropper.more);
			pthread_mutex_unlock(&dropper.lock);
			return;
		}
		pthread_mutex_unlock(&dropper.lock);
		free(r);
	}
	fuse_reply_write(req, len); /* cannot drop the pages safely */
}

bool sfs_direct_finish(void)
{
	struct timespec until;
	bool done;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 2;
	pthread_mutex_lock(&dropper.lock);
	while (dropper.head || dropper.busy)
		if (pthread_cond_timedwait(&dropper.idle, &dropper.lock,
					   &until))
			break;
	done = !dropper.head && !dropper.busy;
	pthread_mutex_unlock(&dropper.lock);
	return done;
}

void sfs_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in_buf,
		   off_t off, struct fuse_file_info *fi)
{
	struct fuse_bufvec out = FUSE_BUFVEC_INIT(fuse_buf_size(in_buf));
	struct sfs *fs = sfs_data(req);
	ssize_t res;
	int err;

	/* The kernel leaves killpriv to us (killpriv.c). */
	err = sfs_killpriv(req, ino, (int)fi->fh);
	if (err)
		return (void)fuse_reply_err(req, err);
	out.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	out.buf[0].fd = (int)fi->fh;
	out.buf[0].pos = off;
	res = fuse_buf_copy(&out, in_buf, 0);
	if (res < 0)
		return (void)fuse_reply_err(req, (int)-res);
	/*
	 * An O_DIRECT write: the kernel dropped the cached pages of the range
	 * when the write began, but after an asynchronous one (io_submit) it
	 * does not drop them again, so a buffered read racing with the write
	 * can leave the old bytes cached for good (ext4 drops them at
	 * completion). Drop them before the write completes.
	 */
	if ((fi->flags & O_DIRECT) && !fi->writepage && res > 0)
		return direct_written(fs, req, ino, off, (size_t)res);
	fuse_reply_write(req, (size_t)res);
}

void sfs_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
		   off_t length, struct fuse_file_info *fi)
{
	int res = sfs_killpriv(req, ino, (int)fi->fh);

	if (!res && fallocate((int)fi->fh, mode, offset, length) < 0)
		res = errno;
	fuse_reply_err(req, res);
}

void sfs_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
			 struct fuse_file_info *fi_in, fuse_ino_t ino_out,
			 off_t off_out, struct fuse_file_info *fi_out,
			 size_t len, int flags)
{
	ssize_t res;

	(void)ino_in;
	res = sfs_killpriv(req, ino_out, (int)fi_out->fh);
	if (res)
		return (void)fuse_reply_err(req, (int)res);
	res = copy_file_range((int)fi_in->fh, &off_in, (int)fi_out->fh,
			      &off_out, len, (unsigned int)flags);
	if (res < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_write(req, (size_t)res);
}

void sfs_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
	       struct fuse_file_info *fi)
{
	off_t res = lseek((int)fi->fh, off, whence);

	(void)ino;
	if (res < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_lseek(req, res);
}
