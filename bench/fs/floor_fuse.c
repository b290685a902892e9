// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * floor_fuse: the benchmark's FUSE floor for the metadata rows. An
 * in-memory filesystem on libfuse's low-level API that makes no system
 * call per request: every request is answered from a table in memory
 * (file data is not kept: reads return zeros, writes only grow the size).
 * It asks the kernel for what shiftfs asks (default_permissions, 1 s entry
 * and attribute timeouts and negative entries, READDIRPLUS with attributes
 * for every entry, POSIX ACLs, no FLUSH after create, no atomic O_TRUNC,
 * no lock requests), so the kernel sends it the requests it sends shiftfs
 * for create, find, stat and ls -lR, and it serves them as shiftfs does
 * (libfuse's multi-threaded loop with 2 workers kept on cloned fds, and
 * one receiver that looks for the next request for 50 us before it
 * sleeps, fs/loop.c). A row's time through it is what the round trips
 * cost with no work behind them. It is not a bound for every daemon: on
 * these VMs the wake-ups dominate and depend on the loop (with spin=0 it
 * is slower than shiftfs with spin=0).
 *
 *     floor_fuse MNT [-f] [-o OPT] [spin=US]   (US 0: libfuse's loop alone)
 *
 * Not a filesystem to keep anything on: the benchmark's workloads only.
 * Data rows (seq, fio, untar) are not run on it: shiftfs passes file data
 * through the kernel, which this server cannot.
 */
#define FUSE_USE_VERSION 34
#define _GNU_SOURCE
#include <errno.h>
#include <fuse_lowlevel.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TIMEOUT 1.0

struct node {
	struct stat st;
	fuse_ino_t parent;
	char *name;	     /* NULL: unlinked, or the root */
	char *target;	     /* symlink target */
	fuse_ino_t *kids;    /* directories: children, 0 where removed */
	size_t nkids, capkids;
	struct node *next;   /* in the (parent, name) hash chain */
};

static struct node **nodes; /* by inode number; 1 is the root */
static size_t nnodes, capnodes;
static struct node **hash;
static size_t nhash = 1 << 20;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static size_t hash_of(fuse_ino_t parent, const char *name)
{
	uint64_t h = parent * 0x9e3779b97f4a7c15ull;

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 0x100000001b3ull;
	return (size_t)(h ^ (h >> 29)) & (nhash - 1);
}

static struct node *find(fuse_ino_t parent, const char *name)
{
	struct node *n = hash[hash_of(parent, name)];

	for (; n; n = n->next)
		if (n->parent == parent && n->name && !strcmp(n->name, name))
			return n;
	return NULL;
}

static struct node *get(fuse_ino_t ino)
{
	return ino < nnodes ? nodes[ino] : NULL;
}

static void now(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

/* n is a child of dir now (its name already hashed). */
static void add_kid(struct node *dir, struct node *n)
{
	if (dir->nkids == dir->capkids) {
		dir->capkids = dir->capkids ? dir->capkids * 2 : 16;
		dir->kids = realloc(dir->kids, dir->capkids * sizeof(*dir->kids));
		if (!dir->kids)
			abort();
	}
	dir->kids[dir->nkids++] = n->st.st_ino;
	if (S_ISDIR(n->st.st_mode))
		dir->st.st_nlink++;
}

static struct node *new_node(fuse_req_t req, fuse_ino_t parent,
			     const char *name, mode_t mode)
{
	const struct fuse_ctx *c = fuse_req_ctx(req);
	struct node *dir = get(parent), *n;
	size_t h;

	if (nnodes == capnodes) {
		capnodes = capnodes ? capnodes * 2 : 1024;
		nodes = realloc(nodes, capnodes * sizeof(*nodes));
		if (!nodes)
			abort();
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		abort();
	n->st.st_ino = nnodes;
	n->st.st_mode = mode;
	n->st.st_nlink = S_ISDIR(mode) ? 2 : 1;
	n->st.st_uid = c->uid;
	n->st.st_gid = c->gid;
	n->st.st_blksize = 4096;
	now(&n->st.st_mtim);
	n->st.st_atim = n->st.st_ctim = n->st.st_mtim;
	nodes[nnodes++] = n;
	if (!dir)
		return n;
	n->parent = parent;
	n->name = strdup(name);
	h = hash_of(parent, name);
	n->next = hash[h];
	hash[h] = n;
	add_kid(dir, n);
	dir->st.st_mtim = dir->st.st_ctim = n->st.st_mtim;
	return n;
}

static void drop_name(struct node *n)
{
	struct node *dir = get(n->parent), **pp;
	size_t i;

	for (pp = &hash[hash_of(n->parent, n->name)]; *pp; pp = &(*pp)->next)
		if (*pp == n) {
			*pp = n->next;
			break;
		}
	for (i = 0; i < dir->nkids; i++)
		if (dir->kids[i] == n->st.st_ino)
			dir->kids[i] = 0;
	if (S_ISDIR(n->st.st_mode))
		dir->st.st_nlink--;
	now(&dir->st.st_mtim);
	dir->st.st_ctim = dir->st.st_mtim;
	free(n->name);
	n->name = NULL;
}

static void entry_of(struct node *n, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = n->st.st_ino;
	e->attr = n->st;
	e->attr_timeout = TIMEOUT;
	e->entry_timeout = TIMEOUT;
}

static void want(struct fuse_conn_info *conn, unsigned int cap)
{
	if (conn->capable & cap)
		conn->want |= cap;
}

/* What shiftfs's sfs_init() (fs/main.c) asks, file data aside. */
static void fl_init(void *data, struct fuse_conn_info *conn)
{
	(void)data;
	want(conn, FUSE_CAP_PARALLEL_DIROPS);
	want(conn, FUSE_CAP_READDIRPLUS);
	want(conn, FUSE_CAP_POSIX_ACL);
	want(conn, FUSE_CAP_DONT_MASK);
	want(conn, FUSE_CAP_AUTO_INVAL_DATA);
	conn->want &= ~(FUSE_CAP_WRITEBACK_CACHE | FUSE_CAP_ATOMIC_O_TRUNC |
			FUSE_CAP_FLOCK_LOCKS | FUSE_CAP_POSIX_LOCKS);
}

static void fl_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	struct node *n;

	pthread_mutex_lock(&lock);
	n = find(parent, name);
	if (n)
		entry_of(n, &e);
	pthread_mutex_unlock(&lock);
	if (!n) {
		/* A negative entry, as shiftfs gives with cache=auto. */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = TIMEOUT;
	}
	fuse_reply_entry(req, &e);
}

static void fl_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct stat st;
	struct node *n;

	(void)fi;
	pthread_mutex_lock(&lock);
	n = get(ino);
	if (n)
		st = n->st;
	pthread_mutex_unlock(&lock);
	if (!n)
		return (void)fuse_reply_err(req, ENOENT);
	fuse_reply_attr(req, &st, TIMEOUT);
}

static void fl_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	struct stat st;
	struct node *n;

	(void)fi;
	pthread_mutex_lock(&lock);
	n = get(ino);
	if (!n) {
		pthread_mutex_unlock(&lock);
		return (void)fuse_reply_err(req, ENOENT);
	}
	if (to_set & FUSE_SET_ATTR_MODE)
		n->st.st_mode = (n->st.st_mode & S_IFMT) | (attr->st_mode & 07777);
	if (to_set & FUSE_SET_ATTR_UID)
		n->st.st_uid = attr->st_uid;
	if (to_set & FUSE_SET_ATTR_GID)
		n->st.st_gid = attr->st_gid;
	if (to_set & FUSE_SET_ATTR_SIZE)
		n->st.st_size = attr->st_size;
	if (to_set & FUSE_SET_ATTR_ATIME)
		n->st.st_atim = attr->st_atim;
	if (to_set & FUSE_SET_ATTR_MTIME)
		n->st.st_mtim = attr->st_mtim;
	if (to_set & FUSE_SET_ATTR_ATIME_NOW)
		now(&n->st.st_atim);
	if (to_set & FUSE_SET_ATTR_MTIME_NOW)
		now(&n->st.st_mtim);
	now(&n->st.st_ctim);
	st = n->st;
	pthread_mutex_unlock(&lock);
	fuse_reply_attr(req, &st, TIMEOUT);
}

static void make(fuse_req_t req, fuse_ino_t parent, const char *name,
		 mode_t mode, const char *target, struct fuse_file_info *fi)
{
	struct fuse_entry_param e;
	struct node *n = NULL;
	int err = 0;

	pthread_mutex_lock(&lock);
	if (!get(parent) || !S_ISDIR(get(parent)->st.st_mode))
		err = ENOENT;
	else if (find(parent, name))
		err = EEXIST;
	else
		n = new_node(req, parent, name, mode);
	if (n && target) {
		n->target = strdup(target);
		n->st.st_size = (off_t)strlen(target);
	}
	if (n)
		entry_of(n, &e);
	pthread_mutex_unlock(&lock);
	if (err)
		fuse_reply_err(req, err);
	else if (fi)
		fuse_reply_create(req, &e, fi);
	else
		fuse_reply_entry(req, &e);
}

static void fl_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	make(req, parent, name, S_IFDIR | (mode & 07777), NULL, NULL);
}

static void fl_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev)
{
	(void)rdev;
	make(req, parent, name, mode, NULL, NULL);
}

static void fl_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		       const char *name)
{
	make(req, parent, name, S_IFLNK | 0777, link, NULL);
}

static void fl_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	fi->fh = 0;
	fi->noflush = 1; /* shiftfs: FOPEN_NOFLUSH on a local source */
	make(req, parent, name, S_IFREG | (mode & 07777), NULL, fi);
}

static void fl_readlink(fuse_req_t req, fuse_ino_t ino)
{
	char *t = NULL;
	struct node *n;

	pthread_mutex_lock(&lock);
	n = get(ino);
	if (n && n->target)
		t = strdup(n->target);
	pthread_mutex_unlock(&lock);
	if (!t)
		return (void)fuse_reply_err(req, EINVAL);
	fuse_reply_readlink(req, t);
	free(t);
}

static void fl_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent,
		    const char *name)
{
	struct fuse_entry_param e;
	struct node *n, *dir;
	int err = 0;

	pthread_mutex_lock(&lock);
	n = get(ino);
	dir = get(parent);
	if (!n || !dir)
		err = ENOENT;
	else if (find(parent, name))
		err = EEXIST;
	else {
		/* A second name: a node that shares nothing (a benchmark). */
		struct node *l = new_node(req, parent, name, n->st.st_mode);

		n->st.st_nlink++;
		l->st = n->st;
		l->st.st_ino = nnodes - 1;
		entry_of(l, &e);
	}
	pthread_mutex_unlock(&lock);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_entry(req, &e);
}

static void remove_name(fuse_req_t req, fuse_ino_t parent, const char *name,
			int dir)
{
	struct node *n;
	int err = 0;
	size_t i;

	pthread_mutex_lock(&lock);
	n = find(parent, name);
	if (!n)
		err = ENOENT;
	else if (dir && !S_ISDIR(n->st.st_mode))
		err = ENOTDIR;
	else if (!dir && S_ISDIR(n->st.st_mode))
		err = EISDIR;
	for (i = 0; !err && dir && i < n->nkids; i++)
		if (n->kids[i])
			err = ENOTEMPTY;
	if (!err) {
		drop_name(n);
		n->st.st_nlink = 0;
	}
	pthread_mutex_unlock(&lock);
	fuse_reply_err(req, err);
}

static void fl_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, parent, name, 0);
}

static void fl_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, parent, name, 1);
}

static void fl_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags)
{
	struct node *n, *old, *dir;
	int err = 0;
	size_t h;

	pthread_mutex_lock(&lock);
	n = find(parent, name);
	dir = get(newparent);
	if (!n || !dir || flags)
		err = n ? EINVAL : ENOENT;
	if (!err) {
		old = find(newparent, newname);
		if (old)
			drop_name(old);
		drop_name(n);
		n->parent = newparent;
		n->name = strdup(newname);
		h = hash_of(newparent, newname);
		n->next = hash[h];
		hash[h] = n;
		add_kid(dir, n);
	}
	pthread_mutex_unlock(&lock);
	fuse_reply_err(req, err);
}

static void fl_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	fi->fh = 0;
	fi->noflush = 1;
	fuse_reply_open(req, fi);
}

static void fl_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}

static void fl_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fl_release(req, ino, fi);
}

static void fl_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	(void)datasync;
	fl_release(req, ino, fi);
}

static void fl_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	static char zeros[1 << 20];
	struct node *n;
	off_t end = 0;

	(void)fi;
	pthread_mutex_lock(&lock);
	n = get(ino);
	if (n)
		end = n->st.st_size;
	pthread_mutex_unlock(&lock);
	if (off >= end)
		size = 0;
	else if ((off_t)size > end - off)
		size = (size_t)(end - off);
	fuse_reply_buf(req, zeros, size < sizeof(zeros) ? size : sizeof(zeros));
}

static void fl_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	struct node *n;

	(void)buf;
	(void)fi;
	pthread_mutex_lock(&lock);
	n = get(ino);
	if (n && off + (off_t)size > n->st.st_size)
		n->st.st_size = off + (off_t)size;
	pthread_mutex_unlock(&lock);
	fuse_reply_write(req, size);
}

static void fl_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	(void)ino;
	fi->fh = 0;
	fuse_reply_open(req, fi);
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       int plus)
{
	char *buf = malloc(size), *p = buf;
	size_t rem = size, used;
	struct fuse_entry_param e;
	struct node *dir, *n;
	size_t i;

	if (!buf)
		return (void)fuse_reply_err(req, ENOMEM);
	pthread_mutex_lock(&lock);
	dir = get(ino);
	for (i = (size_t)off; dir && i < dir->nkids; i++) {
		n = get(dir->kids[i]);
		if (!dir->kids[i] || !n->name)
			continue;
		entry_of(n, &e);
		if (plus)
			used = fuse_add_direntry_plus(req, p, rem, n->name, &e,
						      (off_t)i + 1);
		else
			used = fuse_add_direntry(req, p, rem, n->name, &e.attr,
						 (off_t)i + 1);
		if (used > rem)
			break;
		p += used;
		rem -= used;
	}
	pthread_mutex_unlock(&lock);
	fuse_reply_buf(req, buf, size - rem);
	free(buf);
}

static void fl_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	(void)fi;
	do_readdir(req, ino, size, off, 0);
}

static void fl_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			   off_t off, struct fuse_file_info *fi)
{
	(void)fi;
	do_readdir(req, ino, size, off, 1);
}

static void fl_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			size_t size)
{
	(void)ino;
	(void)name;
	(void)size;
	fuse_reply_err(req, ENODATA);
}

static void fl_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	(void)ino;
	if (size)
		fuse_reply_buf(req, NULL, 0);
	else
		fuse_reply_xattr(req, 0);
}

static void fl_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv = {.f_bsize = 4096, .f_frsize = 4096,
			     .f_blocks = 1 << 24, .f_bfree = 1 << 24,
			     .f_bavail = 1 << 24, .f_files = 1 << 24,
			     .f_ffree = 1 << 24, .f_namemax = 255};

	(void)ino;
	fuse_reply_statfs(req, &sv);
}

static const struct fuse_lowlevel_ops ops = {
	.init = fl_init,
	.lookup = fl_lookup,
	.getattr = fl_getattr,
	.setattr = fl_setattr,
	.readlink = fl_readlink,
	.mknod = fl_mknod,
	.mkdir = fl_mkdir,
	.unlink = fl_unlink,
	.rmdir = fl_rmdir,
	.symlink = fl_symlink,
	.rename = fl_rename,
	.link = fl_link,
	.open = fl_open,
	.read = fl_read,
	.write = fl_write,
	.flush = fl_flush,
	.release = fl_release,
	.fsync = fl_fsync,
	.opendir = fl_opendir,
	.readdir = fl_readdir,
	.readdirplus = fl_readdirplus,
	.statfs = fl_statfs,
	.getxattr = fl_getxattr,
	.listxattr = fl_listxattr,
	.create = fl_create,
};

static unsigned int spin_us = 50;

static uint64_t now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

/* The spinning receiver on the session fd (a short copy of fs/loop.c's). */
static void *receive(void *arg)
{
	struct fuse_session *se = arg;
	struct fuse_buf buf = {.mem = NULL};
	struct pollfd p = {.fd = fuse_session_fd(se), .events = POLLIN};
	uint64_t last = now_us();
	int n;

	while (!fuse_session_exited(se)) {
		int spinning = now_us() - last < spin_us;

		n = poll(&p, 1, spinning ? 0 : 250);
		if (n <= 0) {
			if (spinning)
				sched_yield();
			continue;
		}
		n = fuse_session_receive_buf(se, &buf);
		if (n == -EINTR || n == -EAGAIN)
			continue;
		if (n <= 0)
			break;
		fuse_session_process_buf(se, &buf);
		last = now_us();
	}
	free(buf.mem);
	return NULL;
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts opts;
	struct fuse_loop_config *cfg;
	struct fuse_session *se;
	struct node *root;
	pthread_t rx;
	int ret = 1, i;

	/* spin=US, ours: taken out before libfuse sees the arguments. */
	for (i = 1; i < argc; i++)
		if (!strncmp(argv[i], "spin=", 5)) {
			spin_us = (unsigned int)atoi(argv[i] + 5);
			memmove(&argv[i], &argv[i + 1],
				(size_t)(argc - i) * sizeof(*argv));
			args.argc = --argc;
			break;
		}

	if (fuse_parse_cmdline(&args, &opts) != 0 || !opts.mountpoint) {
		fprintf(stderr, "usage: %s MNT [-f] [-o OPT]\n", argv[0]);
		return 2;
	}
	hash = calloc(nhash, sizeof(*hash));
	if (!hash)
		return 1;
	nnodes = 1; /* inode 0 is not a file */
	capnodes = 1024;
	nodes = calloc(capnodes, sizeof(*nodes));
	root = calloc(1, sizeof(*root));
	if (!nodes || !root)
		return 1;
	root->st.st_ino = FUSE_ROOT_ID;
	root->st.st_mode = S_IFDIR | 0755;
	root->st.st_nlink = 2;
	root->st.st_blksize = 4096;
	now(&root->st.st_mtim);
	root->st.st_atim = root->st.st_ctim = root->st.st_mtim;
	nodes[nnodes++] = root;
	fuse_opt_add_arg(&args, "-odefault_permissions,allow_other");
	se = fuse_session_new(&args, &ops, sizeof(ops), NULL);
	if (!se)
		return 1;
	if (fuse_set_signal_handlers(se) == 0 &&
	    fuse_session_mount(se, opts.mountpoint) == 0) {
		fuse_daemonize(opts.foreground);
		cfg = fuse_loop_cfg_create();
		fuse_loop_cfg_set_clone_fd(cfg, 1);
		fuse_loop_cfg_set_max_threads(cfg, 2);
		fuse_loop_cfg_set_idle_threads(cfg, 2);
		if (spin_us)
			pthread_create(&rx, NULL, receive, se);
		ret = fuse_session_loop_mt(se, cfg);
		if (spin_us)
			pthread_join(rx, NULL);
		fuse_loop_cfg_destroy(cfg);
		fuse_session_unmount(se);
	}
	fuse_remove_signal_handlers(se);
	fuse_session_destroy(se);
	free(opts.mountpoint);
	fuse_opt_free_args(&args);
	return ret ? 1 : 0;
}
