/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internal to shiftctl/rewrite/: the state of one run and of each walk
 * worker, and the functions its files share (inode.c reaches inodes
 * through checked fds, plan.c decides, apply.c changes, undo.c works from
 * a journal, run.c drives a run). Verbs include only rewrite.h.
 */
#ifndef SHIFTCTL_REWRITE_INT_H
#define SHIFTCTL_REWRITE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/acl.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "journal.h"
#include "rewrite.h"
#include "walk.h"

#define BATCH_MAX 32768
#define BATCH_DIRS 512

/* Where an inode is: name in dfd, or the root itself (at_empty). */
struct loc {
	struct walk_dir *dir;
	int dfd;
	const char *name;
	int at_empty;
	uint64_t ino;
};

struct pending {
	struct loc l;
	struct journal_entry orig; /* also the state examined */
	int64_t ctime_sec;	   /* ctime examined */
	uint32_t ctime_nsec;
	uint32_t nlink; /* links examined (all of them in the tree) */
	char data[]; /* name, then the blobs */
};

struct run;

struct ctx {
	struct run *run;
	struct pending **batch;
	size_t n, ndirs;
	struct walk_dir *last_dir;
	struct rewrite_counts c;
	struct rewrite_pair *pairs;
	size_t npairs, pcap;
	struct journal_after *afters; /* APLD entries not written yet */
	size_t nafters, acap;
};

struct run {
	struct rewrite_opts *o;
	struct walk w;
	struct journal *j;
	struct journal_loaded *jl; /* resume / undo */
	atomic_bool fatal;
	bool journal_removed;	  /* nothing changed: no journal kept */
	uint64_t skipped_changed; /* journalled inodes left alone */
	atomic_int reported;
	pthread_mutex_t out_lock;
};

/*
 * An inode opened once and then changed through its fd, never by name
 * again: O_PATH (fchownat AT_EMPTY_PATH, chmod and xattrs through
 * /proc/self/fd), reopened read-only through /proc/self/fd for a regular
 * file or directory when its generation is wanted (an open by name could
 * reach a device node swapped in).
 */
struct target {
	int fd;
	bool has_gen;
	uint32_t gen;
	struct statx stx;
};

#define TARGET_STATX (STATX_BASIC_STATS | STATX_BTIME)

/* Where a journalled inode stands (resume and undo). */
enum jstate {
	JS_ORIG,    /* at its original owner: untouched, or undone */
	JS_RUN,	    /* as the run left it (or as a crash left it) */
	JS_CHANGED, /* another inode, or changed by someone since */
};

/* inode.c */
void loc_of(const struct walk_entry *e, struct loc *l);
void loc_path(const struct loc *l, char *buf, size_t len);
void loc_error(struct run *r, const struct loc *l, const char *what, int err);
int loc_open(const struct loc *l, const struct statx *seen);
ssize_t loc_listxattr(const struct loc *l, char *buf, size_t size);
void proc_fd(int fd, char *buf, size_t len);
int target_open(const struct loc *l, uint64_t dev, uint64_t ino, bool want_gen,
		struct target *t);
void target_close(struct target *t);
bool target_is(const struct target *t, const struct journal_entry *e);
bool same_ctime(const struct statx *s, int64_t sec, uint32_t nsec);
bool list_has(const char *list, ssize_t n, const char *name);
int fd_getxattr(int fd, const char *name, void **val, uint32_t *len);
int fd_setxattr(int fd, const char *name, const void *val, size_t len);
bool same_blob(const void *a, uint32_t alen, const void *b, uint32_t blen);
int set_mode(int fd, uint32_t mode);

/* plan.c */
bool privileged(const struct journal_entry *e);
void final_owner(struct run *r, const struct journal_entry *orig, uint32_t *u,
		 uint32_t *g, int *unmappable);
bool entry_moves(struct run *r, const struct journal_entry *orig,
		 acl_entry_t ent, uint32_t *nq);
enum jstate plan_judge(struct run *r, const struct journal_entry *e,
		       const struct target *t, const char **why);
/* The reports of rewrite_report_ops, with the path of l (serialised). */
void report_change(struct run *r, const struct loc *l,
		   const struct journal_entry *orig, uint32_t u, uint32_t g,
		   bool extra);
void plan_visit(void *arg, const struct walk_entry *e);

/* apply.c */
void apply_forward(struct ctx *c, const struct loc *l,
		   const struct journal_entry *orig, const struct target *t);
void apply_flush(void *arg);
int apply_queue(struct ctx *c, const struct loc *l,
		const struct journal_entry *orig, const struct statx *stx);

/* undo.c */
void journalled_inode(struct ctx *c, const struct loc *l,
		      const struct journal_entry *jo);
void check_tree(const struct journal_loaded *jl, const struct statx *stx,
		const char *path);
struct journal_loaded *load_or_die(const char *file);
/* --resume: load the journal (or find PATH's), open its tree (*path, when
 * NULL, becomes the journal's). The tree's fd, or -1 when the run was
 * finished already (said so). Dies on what stops a run. */
int resume_open(const char **path, struct rewrite_opts *o, struct run *r,
		struct statx *stx);

/* run.c */
/* What the root of a tree is looked at with (walk.c asks the same). */
#define ROOT_STATX (STATX_BASIC_STATS | STATX_MNT_ID | STATX_BTIME)
void need_privilege(const struct rewrite_opts *o);
/* Resolve PATH once to an fd (O_RDONLY|O_DIRECTORY for a directory, else
 * O_PATH) and fill *stx and real (PATH_MAX), the fd's own path: refused
 * (dies) when PATH has a symlink on it or changed while it was resolved. */
int rewrite_resolve(const char *path, struct statx *stx, char *real,
		    size_t rlen);
int rewrite_open_tree(const char *path, struct rewrite_opts *o,
		      struct statx *stx, char *real, size_t rlen);
int rewrite_walk(struct run *r, int fd, const struct statx *stx,
		 const char *path);

#endif
