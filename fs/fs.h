/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shiftfs daemon internals: the private state of one mount, the inode table
 * (keyed by (dev, ino) in a hash table, with file handles and a bounded fd
 * cache as virtiofsd's --inode-file-handles; see struct sfs_inode)
 * and the handlers of each op family. Private to fs/.
 *
 * Threading: the inode table and its fd cache are guarded by one mutex, never
 * held across a syscall other than close(); id maps are immutable after
 * startup and read without a lock. Credentials (fsuid/fsgid, umask)
 * are per thread and only changed for the duration of one create op.
 */
#ifndef SHIFT_FS_H
#define SHIFT_FS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <fuse_lowlevel.h>

#include "idmap.h"
#include "log.h"

#define SFS_PT_LOCKS 64
/* fi->fh of a file: the fd in the low 32 bits, passthrough.c's marks above */
#define SFS_FH_PT (1ull << 32)
#define SFS_FH_CACHED (1ull << 33)

enum sfs_cache { SFS_CACHE_AUTO, SFS_CACHE_ALWAYS, SFS_CACHE_NEVER };

/* How creates get their final owner (see creds.c). */
enum sfs_creds_mode {
	SFS_CREDS_FSUID,  /* root: per-thread fsuid/fsgid, caps kept */
	SFS_CREDS_CAPSET, /* root without securebits: re-raise caps */
	SFS_CREDS_UNPRIV, /* no CAP_SETUID/CHOWN: own credentials only */
};

/*
 * One source inode the kernel knows about, keyed by (dev, ino) so hard links
 * are one inode.
 *
 * File-handle mode (root with CAP_DAC_READ_SEARCH on a filesystem that has
 * handles, the virtiofsd --inode-file-handles model): the inode keeps its
 * file handle inline (handle[], hlen bytes, typically 8 on ext4, 8-20 on
 * xfs/btrfs/tmpfs) and the index of the mount fd of its filesystem; its
 * O_PATH|O_NOFOLLOW fd lives only in a bounded clock cache (-o fd_cache=N,
 * default 4096) and is reopened with open_by_handle_at(), which opens the
 * very inode again, never a path. Memory per cached inode: 62 bytes of
 * struct plus the handle (an 80-byte malloc chunk for an 8-byte handle) plus
 * 8-16 bytes of hash buckets, about 90 bytes, and no fd unless it is in the
 * fd cache. Open fds: the fd cache, one per source mount, open files and
 * directories.
 *
 * Keep-fd mode (unprivileged, or a filesystem without handles, or one inode
 * whose handle could not be taken): the inode keeps its fd until FORGET
 * (SFS_INODE_KEEP), as in passthrough_ll.c.
 *
 * Every op takes the inode's fd with sfs_get()/sfs_iget() and gives it back
 * with sfs_put()/sfs_iput(); a taken fd is pinned (never closed by the
 * cache) until put, and so is the inode: a FORGET that arrives meanwhile
 * (the kernel may forget an inode as soon as it has our reply) leaves the
 * freeing to the last put.
 */
#define SFS_INODE_KEEP 0x01   /* fd kept until forget (no handle) */
#define SFS_INODE_HASHED 0x02 /* in the table (not replaced by a new inode) */
#define SFS_INODE_REF 0x04    /* clock: used since the hand last passed */
#define SFS_INODE_SYMLINK 0x08
#define SFS_INODE_DEAD 0x10   /* forgotten while pinned: freed at last put */
#define SFS_INODE_STATKIDS 0x20 /* dir: a file in it was looked up */

struct sfs_inode {
	struct sfs_inode *next; /* hash chain */
	uint64_t nlookup;	/* kernel references; guarded by table lock */
	dev_t dev;
	ino_t ino;
	/* cache=auto: mtime (ns) and size at the last open (table lock) */
	int64_t open_mtime;
	off_t open_size;
	int fd;		/* O_PATH|O_NOFOLLOW or -1; table lock */
	int32_t slot;	/* index in the fd cache ring or -1; table lock */
	uint16_t pins;	/* fd users (sfs_get without sfs_put); table lock */
	uint8_t mnt;	/* index of the mount fd in struct sfs_table */
	uint8_t hlen;	/* handle bytes (0: SFS_INODE_KEEP) */
	uint8_t htype;	/* handle type */
	uint8_t flags;	/* SFS_INODE_* ; table lock after insertion */
	/* passthrough.c: backing id and open counts (its stripe lock) */
	int32_t pt_id;
	uint32_t pt_users, pt_cached;
	unsigned char handle[];
};

#define SFS_MAX_MNTS 64

struct sfs_table {
	pthread_mutex_t lock;
	struct sfs_inode **buckets;
	size_t nbuckets; /* power of two */
	size_t count;
	/* the fd cache: a clock over ring[cap] */
	struct sfs_inode **ring;
	size_t cap, hand, fill, nfds;
	/* mount fds (O_RDONLY directories) for open_by_handle_at */
	int mnt_id[SFS_MAX_MNTS];
	int mnt_fd[SFS_MAX_MNTS];
	unsigned int nmnts;
	bool handles; /* file-handle mode (probed at startup) */
};

struct sfs {
	/* options (fuse_opt writes strings it allocates: freed in main) */
	char *source;
	char *uidmap, *gidmap, *map;
	char *rootless, *userns_remap, *pid;
	char *subuid_file, *subgid_file;
	char *owner, *user;
	char *overflow_uid, *overflow_gid;
	char *cache_opt;
	char *max_write_opt;
	char *fd_cache_opt;
	char *stats_file;
	char *spin_opt;
	int identity;
	int rootless_self;
	int writeback;
	int nopassthrough;
	int allow_other;
	int suid, dev;
	int debug;
	bool test_fail_after_create; /* SHIFTFS_TEST_FAIL_AFTER_CREATE=1 */
	unsigned test_create_pause_ms; /* SHIFTFS_TEST_CREATE_PAUSE_MS=N */

	/* derived */
	struct idmaps maps;
	enum sfs_cache cache;
	double timeout;
	unsigned int max_write;
	size_t fd_cache;
	unsigned int spin_us; /* loop.c */
	enum sfs_creds_mode creds;
	bool guard; /* some disk id is privileged (creds.c): not identity */
	bool no_groups; /* creds.c: supplementary groups dropped at start */
	uid_t euid;
	gid_t egid;
	struct sfs_inode root;
	int root_mnt_id; /* SRC's mount (submount.c), or -1 */
	struct sfs_table table;
	struct fuse_session *se;
	/* SRC's filesystem is local (ext4, tmpfs, ...: sfs_flush_setup()):
	 * close() reports nothing (no FLUSH), its attributes are never stale
	 * whatever AT_STATX_DONT_SYNC says, passthrough may start */
	bool local;
	/* passthrough.c */
	atomic_bool pt_off; /* the kernel refused: off for the mount */
	pthread_mutex_t pt_locks[SFS_PT_LOCKS];
};

/* The state of the mount a request belongs to. */
static inline struct sfs *sfs_data(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

#define sfs_debug(fs, ...)                                                     \
	do {                                                                   \
		if ((fs)->debug)                                               \
			shift_log(SHIFT_LOG_DEBUG, __VA_ARGS__);               \
	} while (0)

/*
 * loop.c: the session loop, libfuse's workers (workers, idle) on cloned
 * fds and, with spin_us, the spinning receiver beside them (single: it
 * alone). 0 or -errno.
 */
/*
 * A thread of the daemon's own, every signal blocked in it, so that the
 * one that ends the daemon reaches a thread libfuse's loop waits on;
 * detached when t is NULL. pthread_create()'s result.
 */
int sfs_thread_start(void *(*fn)(void *), void *arg, pthread_t *t);
#define SFS_SPIN_DEFAULT 50
#define SFS_SPIN_MAX 100000
int sfs_loop(struct fuse_session *se, unsigned int spin_us, bool single,
	     unsigned int workers, unsigned int idle);
/* Before fuse_session_unmount(): the receiver answers nothing more (2 s
 * at most for the request it handles); false if it still handles one,
 * and then the session fd must not be closed under it. */
bool sfs_loop_quiesce(void);
/*
 * When a thread waits in the kernel for good: close every /dev/fuse fd
 * (the connection aborts once exit has ended the threads reading them, and
 * the mount answers ENOTCONN) and _exit(status).
 */
_Noreturn void sfs_loop_abandon(int status);
/* After fuse_session_unmount(): false if the session must not be freed. */
bool sfs_loop_finish(void);
/* After the unmount: wait (2 s at most) for the thread that answers
 * direct writes (ops_file.c) to be done with the session; false if it
 * is not, and then the session must not be freed under it. */
bool sfs_direct_finish(void);
/* After the unmount: wait (2 s at most) for opens waiting on a lease
 * (ops_file.c); false if some still do. */
bool sfs_lease_finish(void);

/* inode.c */
#define SFS_FD_CACHE_DEFAULT 4096
int sfs_table_init(struct sfs_table *t, size_t fd_cache);
/*
 * Choose file-handle mode if the root (fd rootfd) has a handle that reopens;
 * logs one line either way. 0 or -errno (only for out of memory).
 */
int sfs_table_setup(struct sfs *fs);
void sfs_table_free(struct sfs_table *t);
struct sfs_inode *sfs_inode(fuse_req_t req, fuse_ino_t ino);
/*
 * The O_PATH fd of an inode, pinned until the matching put: an fd >= 0 or
 * -errno (-ESTALE: deleted on the host; -EMFILE/-ENFILE: out of fds).
 */
int sfs_iget(struct sfs *fs, struct sfs_inode *inode);
void sfs_iput(struct sfs *fs, struct sfs_inode *inode);
int sfs_get(fuse_req_t req, fuse_ino_t ino);
/* After a reply req is gone: put with the mount's state. */
void sfs_put(struct sfs *fs, fuse_ino_t ino);
/* Note a failed fd allocation: logs once at EMFILE/ENFILE. Returns err. */
int sfs_note_err(int err);
/* Remove a name this daemon just created, after a later step failed. */
void sfs_undo_create(int pfd, const char *name, bool is_dir);
/* The fuse_ino_t the kernel knows inode by. */
fuse_ino_t sfs_ino(const struct sfs *fs, const struct sfs_inode *inode);
/* Disk attributes of inode, translated to view. 0 or -errno. */
int sfs_getattr_view(const struct sfs *fs, int fd, struct stat *st);
/* Translate owner of st from disk to view ids: THE attribute translation. */
void sfs_stat_to_view(const struct sfs *fs, struct stat *st);
/*
 * Look name up in parent and fill e (one more kernel reference on success).
 * Returns 0 or an errno value (positive).
 */
int sfs_do_lookup(fuse_req_t req, fuse_ino_t parent, const char *name,
		  struct fuse_entry_param *e);
/*
 * The same if every name is in the dentry cache (nothing waits on a
 * directory lock); else EAGAIN with *slow set, and nothing was done.
 */
int sfs_try_lookup(fuse_req_t req, fuse_ino_t parent, const char *name,
		   struct fuse_entry_param *e, bool *slow);
/*
 * The inode the kernel already knows at name in directory dfd, with one more
 * reference, st its disk attributes; NULL when there is none (then nothing
 * was taken).
 */
struct sfs_inode *sfs_lookup_known(struct sfs *fs, int dfd, const char *name,
				   struct stat *st);
void sfs_unref(struct sfs *fs, struct sfs_inode *inode, uint64_t n);

/*
 * dirq.c: at most one thread per source directory in the requests that
 * may wait on its lock in numbers the kernel does not bound (slow
 * LOOKUPs, READDIR). run answers the request and frees the job.
 */
struct sfs_dirq_job {
	void (*run)(struct sfs_dirq_job *job);
	struct sfs_dirq_job *next;
};
/*
 * Run job now, and then every job queued for dir meanwhile; or, if a
 * thread serves dir already, queue it for that thread and return.
 */
void sfs_dirq_run(struct sfs_inode *dir, struct sfs_dirq_job *job);

/* submount.c: mounts below SRC */
/* The mount id of fd, asking no filesystem. 0 or -errno. */
int sfs_mount_id(int fd, int *id);
/*
 * fd (O_PATH, just opened below pfd) is on SRC's mount, pfd's, or a mount
 * that may be served: 0; a FUSE filesystem of another user (it could stall
 * the daemon's threads): EACCES, logged.
 */
int sfs_submount_check(struct sfs *fs, int pfd, int fd);
/*
 * A directory whose files someone stats (LOOKUP of a non-directory in
 * it): its READDIRPLUS gives attributes of known entries from then on.
 */
void sfs_mark_statkids(struct sfs *fs, struct sfs_inode *dir);
bool sfs_statkids(struct sfs *fs, struct sfs_inode *dir);
/* Path through /proc for calls that have no fd-relative form. */
void sfs_proc_path(char *buf, size_t len, int fd);
#define SFS_PROC_PATH_MAX 32

/* creds.c: run a create as the caller's disk ids */
struct sfs_creds_saved {
	bool changed;
};
/* Probe privileges once, in the main thread before any worker exists. */
void sfs_creds_setup(struct sfs *fs);
/*
 * Become the caller's disk ids for a create in parent directory fd pfd.
 * Returns 0, or a positive errno (EOVERFLOW: unmapped caller; EPERM:
 * unprivileged and the ids are not ours). On 0, sfs_creds_leave() must
 * follow. *mode (may be NULL) is masked by the caller's umask when this
 * thread cannot have its own umask.
 *
 * An unprivileged daemon creates with its own group: fix->gid is then
 * the disk gid to give the new entry afterwards (else -1), and *mode has
 * no group bits meanwhile, so that the daemon's group never has the
 * caller's rights to it; fix->bits are the group bits the kernel would
 * have given it (the caller's umask, or a default ACL's mask), given
 * with the group by sfs_group_fix() on the new entry's fd (O_PATH or
 * not): 0, EPERM (the group is not ours to give, logged), or an errno.
 */
struct sfs_group_fix {
	gid_t gid;
	mode_t bits;
};
int sfs_creds_enter(fuse_req_t req, int pfd, mode_t *mode,
		    struct sfs_group_fix *fix);
void sfs_creds_leave(fuse_req_t req);
int sfs_group_fix(const struct sfs_group_fix *fix, int fd);
/* Log once that an op needs privileges the daemon does not have. */
void sfs_log_unpriv(const char *what, unsigned int id);

/*
 * creds.c: the privilege guard (see there). A disk id is privileged when it
 * is not one of the map's view ids. Callers with view uid 0, and every
 * caller on an identity map, are trusted: the guard does not apply.
 */
bool sfs_trusted(fuse_req_t req);
bool sfs_priv_uid(const struct sfs *fs, uint32_t disk);
bool sfs_priv_gid(const struct sfs *fs, uint32_t disk);
/* The setuid/setgid bits of mode that are privileged for disk uid:gid. */
mode_t sfs_priv_bits(const struct sfs *fs, mode_t mode, uid_t uid, gid_t gid);
/*
 * The bits that a mode change from old to mode (disk owners uid:gid after
 * it) makes privileged: new privileged setuid/setgid bits, or ones kept
 * while execute permission is added.
 */
mode_t sfs_priv_gain(const struct sfs *fs, mode_t old, mode_t mode, uid_t uid,
		     gid_t gid);
/*
 * After an untrusted caller wrote an access ACL on path (it sets the group
 * and owner bits, and its named entries say who may run the file): clear
 * the setuid/setgid bits that are privileged now (sfs_priv_bits()).
 */
void sfs_guard_mode(fuse_req_t req, const char *path);
/* A disk security.capability value effective for a privileged root id. */
bool sfs_priv_fcaps(const struct sfs *fs, const void *value, size_t size);
/*
 * Before an untrusted caller's write open or truncation of the inode of
 * O_PATH fd: clear privileged setuid/setgid bits and (fcaps) remove
 * privileged file capabilities; after its chown, the bits alone. 0 or a
 * positive errno (then refuse the request).
 */
int sfs_disarm(fuse_req_t req, fuse_ino_t ino, int fd, bool fcaps);
/* The disk mode of ino changed behind the kernel: drop its attributes. */
void sfs_mode_changed(fuse_req_t req, fuse_ino_t ino);
/*
 * Before a write, truncation, fallocate or copy into the file of fd: clear
 * its setuid/setgid bits exactly as the native filesystem would for this
 * caller (setattr_should_drop_suidgid()): none for a holder of CAP_FSETID in
 * the initial namespace; else setuid, setgid with group execute, and a
 * setgid-without-group-execute mark unless the caller is in the file's
 * group. The kernel leaves this to the daemon (killpriv v2,
 * killpriv.c), and the daemon itself writes with CAP_FSETID; the source
 * filesystem still drops security.capability on the daemon's write, as it
 * does natively for every writer. One fstat when the file has no such bit.
 * 0 or a positive errno.
 */
int sfs_killpriv(fuse_req_t req, fuse_ino_t ino, int fd);

/*
 * killpriv.c: ask for FUSE_HANDLE_KILLPRIV_V2 (and, with passthrough, for
 * FUSE_PASSTHROUGH) in this thread's INIT reply
 */
void sfs_init_reply_arm(bool passthrough);
/*
 * creds.c: drop: give this thread the credentials a FUSE backing file keeps
 * (passthrough.c): CAP_FSETID and CAP_SYS_RESOURCE out of the effective
 * set, an fsuid and fsgid no file has (a root daemon has no supplementary
 * groups); false: register nothing (then still restore). !drop: restore
 * them; false: they were not what was asked (drop what was registered).
 */
bool sfs_backing_creds(const struct sfs *fs, bool drop);
/* creds.c: is cap in this thread's effective set? */
bool sfs_has_cap(int cap);

/*
 * passthrough.c: FUSE passthrough of open files' data (see there).
 * sfs_passthrough_count() takes fd, a new open file of inode (an OPEN's or
 * a CREATE's; st: fd's fstat() if the caller has it, else NULL), as a
 * passthrough open when it can, and stores the fd and
 * how it was counted in *fh; sfs_passthrough_release() uncounts it.
 * sfs_passthrough_arm() right before the reply: the reply of a passthrough
 * open then carries its backing id (the reply whose fh is fi->fh).
 */
void sfs_passthrough_setup(struct sfs *fs);
bool sfs_passthrough_wanted(const struct sfs *fs);
/* Ask for passthrough in the INIT reply? (wanted, and possible) */
bool sfs_passthrough_init_wanted(struct sfs *fs);
void sfs_passthrough_count(struct sfs *fs, struct sfs_inode *inode, int fd,
			   const struct stat *st, uint64_t *fh);
void sfs_passthrough_release(struct sfs *fs, struct sfs_inode *inode,
			     uint64_t fh);
void sfs_passthrough_arm(const struct sfs_inode *inode, uint64_t fh);
/* After the reply (sent or not): nothing armed is left for another one. */
void sfs_passthrough_disarm(void);
/* For killpriv.c's writev(): an armed reply, and patching it. */
struct fuse_init_out;
struct iovec;
bool sfs_passthrough_armed(void);
void sfs_passthrough_patch(const struct iovec *iov, int iovcnt);
void sfs_passthrough_init_reply(struct fuse_init_out *out);

/*
 * stats.c: the request counter. sfs_stats_wrap() wraps every handler of ops
 * (before fuse_session_new); sfs_stats_start() blocks SIGUSR1 and starts the
 * thread that logs the counts on it and, with file (absolute, -o
 * stats_file=), writes them there as JSON (after fuse_daemonize(), before
 * the loop starts any worker). 0 or -errno.
 */
/* Handlers entered and returned so far (loop.c's watchdog). */
void sfs_stats_progress(uint64_t *in, uint64_t *out);
void sfs_stats_wrap(struct fuse_lowlevel_ops *ops);
int sfs_stats_start(const char *file);
void sfs_stats_log(void);

/* ops_*.c: the lowlevel op handlers */
void sfs_init(void *userdata, struct fuse_conn_info *conn);
void sfs_destroy(void *userdata);
void sfs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
void sfs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup);
void sfs_forget_multi(fuse_req_t req, size_t count,
		      struct fuse_forget_data *forgets);
void sfs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void sfs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int valid,
		 struct fuse_file_info *fi);
void sfs_readlink(fuse_req_t req, fuse_ino_t ino);
void sfs_statfs(fuse_req_t req, fuse_ino_t ino);

void sfs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
	       dev_t rdev);
void sfs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
	       mode_t mode);
void sfs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		 const char *name);
void sfs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
	      const char *newname);
void sfs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void sfs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void sfs_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		fuse_ino_t newparent, const char *newname, unsigned int flags);
void sfs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void sfs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		 struct fuse_file_info *fi);
void sfs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		     struct fuse_file_info *fi);
void sfs_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void sfs_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
		  struct fuse_file_info *fi);

/* ops_file.c: FOPEN_NOFLUSH where close() reports nothing */
void sfs_flush_setup(struct sfs *fs);

void sfs_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		mode_t mode, struct fuse_file_info *fi);
void sfs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void sfs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void sfs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void sfs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
	       struct fuse_file_info *fi);
void sfs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	      struct fuse_file_info *fi);
void sfs_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in_buf,
		   off_t off, struct fuse_file_info *fi);
void sfs_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
		   off_t length, struct fuse_file_info *fi);
void sfs_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
			 struct fuse_file_info *fi_in, fuse_ino_t ino_out,
			 off_t off_out, struct fuse_file_info *fi_out,
			 size_t len, int flags);
void sfs_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
	       struct fuse_file_info *fi);

void sfs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		  size_t size);
void sfs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		  const char *value, size_t size, int flags);
void sfs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void sfs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);

void sfs_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg,
	       struct fuse_file_info *fi, unsigned int flags,
	       const void *in_buf, size_t in_bufsz, size_t out_bufsz);

#endif
