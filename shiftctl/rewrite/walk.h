/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A multi-threaded, fd-relative tree walk for in-place ownership rewrites
 * (chown, shift, undo). Directories are read with large getdents64 buffers
 * and every entry is looked at with statx(AT_SYMLINK_NOFOLLOW) relative to
 * its directory's fd (basic stats, mount id and birth time): no path string
 * is ever resolved again. Symlinks are
 * never followed, hard-linked inodes are visited once (dev + ino), other
 * mounts are not entered unless cross_mounts, and the root is visited last
 * (after every worker has finished), so a correct root means a finished
 * tree ("quick indicator", systemd nspawn-patch-uid.c).
 *
 * Paths kept in struct walk_dir are for messages only.
 */
#ifndef SHIFTCTL_WALK_H
#define SHIFTCTL_WALK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

/* A directory that is being read; refcounted so that work items may keep
 * its fd for later (batched) changes. */
struct walk_dir {
	int fd;		 /* O_RDONLY|O_DIRECTORY */
	char *path;	 /* display path, for messages */
	uint64_t dev;	 /* makedev(stx_dev_major, stx_dev_minor) */
	uint64_t mnt_id; /* 0 when the kernel does not say */
	uint64_t ino;	 /* its inode number */
	atomic_int ref;
};

struct walk_dir *walk_dir_ref(struct walk_dir *d);
void walk_dir_unref(struct walk_dir *d);

/* One inode to visit: name relative to dfd (the root: "" + AT_EMPTY_PATH). */
struct walk_entry {
	struct walk_dir *dir; /* holds dfd; for the root a dir of its own */
	int dfd;
	const char *name;
	int at_empty; /* AT_EMPTY_PATH for the root, else 0 */
	bool is_root;
	struct statx stx;
};

/* The mount id of a statx result (0 when the kernel gave none). */
uint64_t walk_stx_mnt_id(const struct statx *stx);
uint64_t walk_stx_dev(const struct statx *stx);

struct walk_ops {
	/* Called once per inode from a worker thread with that worker's ctx.
	 * Must be thread-safe across different ctx values. */
	void (*visit)(void *ctx, const struct walk_entry *e);
	/* Called by each worker (and for the root) when it has nothing left:
	 * apply anything batched in ctx. */
	void (*flush)(void *ctx);
};

struct walk {
	/* in */
	const char *root_path;
	bool cross_mounts;
	int nthreads; /* 1..WALK_MAX_THREADS */
	void **ctx;   /* nthreads contexts for the callbacks */
	struct walk_ops ops;
	bool quiet; /* no "skipping mount point" notes */
	/* Visit every inode at most once even if renames during the walk
	 * show it twice (else only hard links and, across mounts, all). */
	bool visit_once;
	/* A non-directory with several links is visited only once all its
	 * links were seen in the tree (distinct names, its ctime and link
	 * count the same at each); one with a link elsewhere is left out,
	 * said and counted in links_outside. Else only visited once. */
	bool links_inside;
	/* out (counters) */
	atomic_ullong visited, hardlinks, errors, mounts_skipped, links_outside;
	/* set by anyone to stop the walk early (a fatal error) */
	atomic_bool stop;
	/* private */
	struct walk_priv *priv;
};

#define WALK_MAX_THREADS 8
/* A walk stops after this many errors (each one is printed). */
#define WALK_MAX_ERRORS 1000

/*
 * Why a filesystem must not be changed: "proc", "read-only" ... or NULL
 * when it may be. fd is any fd on it.
 */
const char *walk_fs_refusal(int fd);

/* Walk the tree at root_fd (run.c's rewrite_resolve()). Returns 0, or -errno
 * when the walk could not start. Per-entry errors are printed and counted
 * in w->errors. */
int walk_run(struct walk *w, int root_fd, const struct statx *root_stx);

/* Report an error about name in dir (or the root): "shiftctl: PATH: what:
 * strerror(err)", and count it. */
void walk_error(struct walk *w, const struct walk_entry *e, const char *what,
		int err);

/* The same with a message of its own: "shiftctl: PATH: msg". */
void walk_error_msg(struct walk *w, const struct walk_entry *e,
		    const char *msg);

/* Write path with control characters, backslashes and invalid UTF-8
 * escaped (\n, \\, \xHH) into buf. */
void walk_escape(const char *path, char *buf, size_t len);

/* The display path of an entry, escaped, into buf. */
void walk_entry_path(const struct walk_entry *e, char *buf, size_t len);

/* Count one more modifying step (chown, chmod, setxattr, a journal batch)
 * and SIGKILL the process when the test hook SHIFTCTL_TEST_KILL_AFTER=N
 * says so (crash-safety tests only). */
void walk_test_step(void);

#endif
