/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The inode table: every source inode the kernel holds a reference to, keyed
 * by (st_dev, st_ino) so that hard links are one inode, each with an
 * O_PATH|O_NOFOLLOW fd that every op works relative to (no path is ever
 * resolved twice, no symlink followed). Also the one place where disk
 * attributes become view attributes.
 */
#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fs.h"
#include "log.h"

#define SFS_TABLE_MIN 1024
/* Handles longer than this, or of a type above 255, keep their fd. */
#define SFS_HANDLE_MAX 64

struct sfs_fh {
	struct file_handle h;
	unsigned char bytes[MAX_HANDLE_SZ];
};

static size_t hash_key(dev_t dev, ino_t ino)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ull;

	h ^= (uint64_t)dev * 0xc2b2ae3d27d4eb4full;
	return (size_t)(h ^ (h >> 29));
}

int sfs_table_init(struct sfs_table *t, size_t fd_cache)
{
	t->nbuckets = SFS_TABLE_MIN;
	t->count = 0;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	if (!t->buckets)
		return -ENOMEM;
	t->cap = fd_cache;
	t->hand = t->fill = t->nfds = 0;
	t->ring = NULL;
	if (fd_cache) {
		t->ring = calloc(fd_cache, sizeof(*t->ring));
		if (!t->ring) {
			free(t->buckets);
			t->buckets = NULL;
			return -ENOMEM;
		}
	}
	t->nmnts = 0;
	t->handles = false;
	pthread_mutex_init(&t->lock, NULL);
	return 0;
}

void sfs_table_free(struct sfs_table *t)
{
	size_t i;

	if (!t->buckets)
		return;
	for (i = 0; i < t->nbuckets; i++) {
		struct sfs_inode *n = t->buckets[i], *next;

		for (; n; n = next) {
			next = n->next;
			if (n->fd >= 0)
				close(n->fd);
			free(n);
		}
	}
	for (i = 0; i < t->nmnts; i++)
		close(t->mnt_fd[i]);
	free(t->buckets);
	free(t->ring);
	t->buckets = NULL;
	t->ring = NULL;
	pthread_mutex_destroy(&t->lock);
}

int sfs_note_err(int err)
{
	static atomic_bool logged;

	if ((err == EMFILE || err == ENFILE) &&
	    !atomic_exchange(&logged, true))
		shift_log(SHIFT_LOG_WARNING,
			  "too many open files: raise RLIMIT_NOFILE or lower "
			  "-o fd_cache");
	return err;
}

void sfs_undo_create(int pfd, const char *name, bool is_dir)
{
	if (unlinkat(pfd, name, is_dir ? AT_REMOVEDIR : 0) < 0 &&
	    errno != ENOENT)
		shift_log(SHIFT_LOG_ERR,
			  "could not remove %s after a failed create: %s",
			  name, strerror(errno));
}

/* Index of the mount fd for mnt_id (table lock held), or -1. */
static int mnt_find(const struct sfs_table *t, int mnt_id)
{
	unsigned int i;

	for (i = 0; i < t->nmnts; i++)
		if (t->mnt_id[i] == mnt_id)
			return (int)i;
	return -1;
}

/*
 * The mount fd index for a new inode on mount mnt_id whose O_PATH fd is fd,
 * opening one (O_RDONLY: open_by_handle_at() refuses O_PATH) from fd if it
 * is a directory. -1: none (the inode keeps its fd).
 */
static int mnt_index(struct sfs_table *t, int mnt_id, int fd, bool is_dir)
{
	char path[SFS_PROC_PATH_MAX];
	int i, mfd;

	pthread_mutex_lock(&t->lock);
	i = mnt_find(t, mnt_id);
	pthread_mutex_unlock(&t->lock);
	if (i >= 0 || !is_dir)
		return i;
	sfs_proc_path(path, sizeof(path), fd);
	mfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mfd < 0)
		return -1;
	pthread_mutex_lock(&t->lock);
	i = mnt_find(t, mnt_id);
	if (i < 0 && t->nmnts < SFS_MAX_MNTS) {
		i = (int)t->nmnts++;
		t->mnt_id[i] = mnt_id;
		t->mnt_fd[i] = mfd;
		mfd = -1;
	}
	pthread_mutex_unlock(&t->lock);
	if (mfd >= 0)
		close(mfd);
	return i;
}

/* The file handle of fd, or false (no handle: keep the fd). */
static bool take_handle(struct sfs_table *t, int fd, bool is_dir,
			struct sfs_fh *fh, int *mnt)
{
	int mnt_id;

	if (!t->handles)
		return false;
	fh->h.handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(fd, "", &fh->h, &mnt_id, AT_EMPTY_PATH) < 0)
		return false;
	if (fh->h.handle_bytes > SFS_HANDLE_MAX || fh->h.handle_type < 0 ||
	    fh->h.handle_type > 255)
		return false;
	*mnt = mnt_index(t, mnt_id, fd, is_dir);
	return *mnt >= 0;
}

int sfs_table_setup(struct sfs *fs)
{
	struct sfs_table *t = &fs->table;
	struct sfs_fh fh;
	int mnt, fd;
	const char *why = NULL;

	if (!t->cap) {
		why = "fd_cache=0";
	} else {
		t->handles = true;
		if (!take_handle(t, fs->root.fd, true, &fh, &mnt)) {
			why = errno == EOPNOTSUPP
				      ? "the source filesystem has no file "
					"handles"
				      : strerror(errno);
		} else {
			fd = open_by_handle_at(t->mnt_fd[mnt], &fh.h,
					       O_PATH | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0)
				why = errno == EPERM ? "no CAP_DAC_READ_SEARCH"
						     : strerror(errno);
			else
				close(fd);
		}
	}
	if (why) {
		t->handles = false;
		shift_log(SHIFT_LOG_INFO,
			  "one open fd per cached inode (%s): the number of "
			  "cached inodes is bounded by RLIMIT_NOFILE",
			  why);
	} else {
		shift_log(SHIFT_LOG_DEBUG,
			  "file handles per inode, at most %zu cached fds",
			  t->cap);
	}
	return 0;
}

/* Double the buckets when full; a failed allocation just keeps chains long. */
static void table_grow(struct sfs_table *t)
{
	size_t n = t->nbuckets * 2, i;
	struct sfs_inode **b = calloc(n, sizeof(*b));

	if (!b)
		return;
	for (i = 0; i < t->nbuckets; i++) {
		struct sfs_inode *p = t->buckets[i], *next;

		for (; p; p = next) {
			size_t h = hash_key(p->dev, p->ino) & (n - 1);

			next = p->next;
			p->next = b[h];
			b[h] = p;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = n;
}

static struct sfs_inode *table_find(struct sfs_table *t, dev_t dev, ino_t ino)
{
	struct sfs_inode *p =
		t->buckets[hash_key(dev, ino) & (t->nbuckets - 1)];

	for (; p; p = p->next)
		if (p->ino == ino && p->dev == dev)
			return p;
	return NULL;
}

static void table_insert(struct sfs_table *t, struct sfs_inode *inode)
{
	size_t h;

	if (t->count >= t->nbuckets)
		table_grow(t);
	h = hash_key(inode->dev, inode->ino) & (t->nbuckets - 1);
	inode->next = t->buckets[h];
	t->buckets[h] = inode;
	inode->flags |= SFS_INODE_HASHED;
	t->count++;
}

static void table_remove(struct sfs_table *t, struct sfs_inode *inode)
{
	struct sfs_inode **pp;

	if (!(inode->flags & SFS_INODE_HASHED))
		return;
	inode->flags &= (uint8_t)~SFS_INODE_HASHED;
	pp = &t->buckets[hash_key(inode->dev, inode->ino) & (t->nbuckets - 1)];
	for (; *pp; pp = &(*pp)->next) {
		if (*pp == inode) {
			*pp = inode->next;
			t->count--;
			return;
		}
	}
}

/*
 * Give inode (whose fd was just set) a place in the fd cache, evicting the
 * least recently used unpinned fd by the clock. Table lock held. Returns an
 * evicted fd for the caller to close after unlocking, or -1. With every fd
 * pinned the inode stays outside the ring (slot -1) and its fd is closed at
 * its last put.
 */
static int cache_insert(struct sfs_table *t, struct sfs_inode *inode)
{
	size_t n;

	inode->slot = -1;
	if (inode->flags & SFS_INODE_KEEP)
		return -1;
	inode->flags |= SFS_INODE_REF;
	if (t->fill < t->cap) {
		inode->slot = (int32_t)t->fill;
		t->ring[t->fill++] = inode;
		t->nfds++;
		return -1;
	}
	for (n = 0; n < 2 * t->cap + 1; n++) {
		struct sfs_inode **s = &t->ring[t->hand], *v = *s;
		int fd;

		t->hand = t->hand + 1 == t->cap ? 0 : t->hand + 1;
		if (!v) {
			*s = inode;
			inode->slot = (int32_t)(s - t->ring);
			t->nfds++;
			return -1;
		}
		if (v->pins)
			continue;
		if (v->flags & SFS_INODE_REF) {
			v->flags &= (uint8_t)~SFS_INODE_REF;
			continue;
		}
		fd = v->fd;
		v->fd = -1;
		v->slot = -1;
		*s = inode;
		inode->slot = (int32_t)(s - t->ring);
		return fd;
	}
	return -1;
}

struct sfs_inode *sfs_inode(fuse_req_t req, fuse_ino_t ino)
{
	if (ino == FUSE_ROOT_ID)
		return &sfs_data(req)->root;
	return (struct sfs_inode *)(uintptr_t)ino;
}

int sfs_iget(struct sfs *fs, struct sfs_inode *inode)
{
	struct sfs_table *t = &fs->table;
	struct sfs_fh fh;
	int fd, old, victim;

	if (inode == &fs->root)
		return inode->fd;
	pthread_mutex_lock(&t->lock);
	if (inode->fd >= 0) {
		inode->pins++;
		inode->flags |= SFS_INODE_REF;
		fd = inode->fd;
		pthread_mutex_unlock(&t->lock);
		return fd;
	}
	/* No fd without a handle: SFS_INODE_KEEP inodes always have one. */
	fh.h.handle_bytes = inode->hlen;
	fh.h.handle_type = inode->htype;
	memcpy(fh.h.f_handle, inode->handle, inode->hlen);
	fd = t->mnt_fd[inode->mnt];
	pthread_mutex_unlock(&t->lock);

	/* The very inode again, never a path: nothing to follow or escape. */
	fd = open_by_handle_at(fd, &fh.h, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -sfs_note_err(errno);

	pthread_mutex_lock(&t->lock);
	old = inode->fd;
	victim = -1;
	if (old >= 0) {
		/* Another thread reopened it first. */
		victim = fd;
		fd = old;
	} else {
		inode->fd = fd;
		victim = cache_insert(t, inode);
	}
	inode->pins++;
	pthread_mutex_unlock(&t->lock);
	if (victim >= 0)
		close(victim);
	return fd;
}

void sfs_iput(struct sfs *fs, struct sfs_inode *inode)
{
	struct sfs_table *t = &fs->table;
	int fd = -1;
	bool dead = false;

	if (inode == &fs->root)
		return;
	pthread_mutex_lock(&t->lock);
	if (inode->pins)
		inode->pins--;
	if (!inode->pins && (inode->flags & SFS_INODE_DEAD)) {
		dead = true;
		fd = inode->fd;
	} else if (!inode->pins && inode->slot < 0 &&
		   !(inode->flags & SFS_INODE_KEEP)) {
		/* Over the bound while every cached fd was pinned. */
		fd = inode->fd;
		inode->fd = -1;
	}
	pthread_mutex_unlock(&t->lock);
	if (fd >= 0)
		close(fd);
	if (dead)
		free(inode);
}

int sfs_get(fuse_req_t req, fuse_ino_t ino)
{
	return sfs_iget(sfs_data(req), sfs_inode(req, ino));
}

void sfs_put(struct sfs *fs, fuse_ino_t ino)
{
	if (ino != FUSE_ROOT_ID)
		sfs_iput(fs, (struct sfs_inode *)(uintptr_t)ino);
}

fuse_ino_t sfs_ino(const struct sfs *fs, const struct sfs_inode *inode)
{
	if (inode == &fs->root)
		return FUSE_ROOT_ID;
	return (fuse_ino_t)(uintptr_t)inode;
}

void sfs_proc_path(char *buf, size_t len, int fd)
{
	snprintf(buf, len, "/proc/self/fd/%d", fd);
}

/*
 * An unmapped disk id is reported as (uid_t)-1 / (gid_t)-1: the kernel turns
 * it into an invalid kuid/kgid, shows its own overflow id for it and matches
 * no caller against it, and even root gets no CAP_DAC_OVERRIDE/CAP_FOWNER
 * over the inode, exactly as on an idmapped mount (DESIGN.md: shown, never
 * matched). Reporting the overflow id itself would hand the owner's rights
 * to whoever really is uid 65534.
 */
void sfs_stat_to_view(const struct sfs *fs, struct stat *st)
{
	uint32_t v;

	st->st_uid = idmap_to_view(&fs->maps.uid, st->st_uid, &v) == 0
			     ? (uid_t)v
			     : (uid_t)-1;
	st->st_gid = idmap_to_view(&fs->maps.gid, st->st_gid, &v) == 0
			     ? (gid_t)v
			     : (gid_t)-1;
}

int sfs_getattr_view(const struct sfs *fs, int fd, struct stat *st)
{
	if (fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	sfs_stat_to_view(fs, st);
	return 0;
}

static bool same_handle(const struct sfs_inode *inode, const struct sfs_fh *fh,
			int mnt)
{
	return inode->hlen == fh->h.handle_bytes &&
	       inode->htype == fh->h.handle_type && inode->mnt == mnt &&
	       memcmp(inode->handle, fh->h.f_handle, inode->hlen) == 0;
}

/*
 * Find or add the inode for newfd (whose attributes are st) and take one
 * reference. Consumes newfd: it becomes the inode's cached fd if it has none.
 * An inode found by (dev, ino) whose fd is cached is the same inode (the fd
 * pins it); one without an fd is compared by handle, and if the handle
 * differs the old inode was deleted and its number reused: the old one
 * leaves the table (it lives on until forgotten, giving ESTALE).
 */
static struct sfs_inode *inode_get(struct sfs *fs, int newfd,
				   const struct stat *st)
{
	struct sfs_table *t = &fs->table;
	struct sfs_inode *inode, *fresh = NULL;
	struct sfs_fh fh;
	bool has_handle;
	int mnt = 0, victim = -1;

	pthread_mutex_lock(&t->lock);
	inode = table_find(t, st->st_dev, st->st_ino);
	if (inode && inode->fd >= 0) {
		inode->nlookup++;
		inode->flags |= SFS_INODE_REF;
		pthread_mutex_unlock(&t->lock);
		close(newfd);
		return inode;
	}
	pthread_mutex_unlock(&t->lock);

	has_handle = take_handle(t, newfd, S_ISDIR(st->st_mode), &fh, &mnt);
	/* Allocate outside the lock; another thread may win the race. */
	fresh = calloc(1, sizeof(*fresh) + (has_handle ? fh.h.handle_bytes : 0));
	if (!fresh) {
		close(newfd);
		return NULL;
	}
	fresh->fd = -1;
	fresh->slot = -1;
	fresh->dev = st->st_dev;
	fresh->ino = st->st_ino;
	fresh->nlookup = 1;
	if (S_ISLNK(st->st_mode))
		fresh->flags |= SFS_INODE_SYMLINK;
	if (has_handle) {
		fresh->hlen = (uint8_t)fh.h.handle_bytes;
		fresh->htype = (uint8_t)fh.h.handle_type;
		fresh->mnt = (uint8_t)mnt;
		memcpy(fresh->handle, fh.h.f_handle, fresh->hlen);
	} else {
		fresh->flags |= SFS_INODE_KEEP;
	}

	pthread_mutex_lock(&t->lock);
	inode = table_find(t, st->st_dev, st->st_ino);
	if (inode && (inode->fd >= 0 ||
		      (has_handle && same_handle(inode, &fh, mnt)))) {
		inode->nlookup++;
		inode->flags |= SFS_INODE_REF;
		if (inode->fd < 0) {
			inode->fd = newfd;
			newfd = -1;
			victim = cache_insert(t, inode);
		}
	} else {
		if (inode)
			table_remove(t, inode);
		table_insert(t, fresh);
		fresh->fd = newfd;
		newfd = -1;
		victim = cache_insert(t, fresh);
		inode = fresh;
		fresh = NULL;
	}
	pthread_mutex_unlock(&t->lock);
	if (newfd >= 0)
		close(newfd);
	if (victim >= 0)
		close(victim);
	free(fresh);
	return inode;
}

static bool name_is_dotdot(const char *name)
{
	return name[0] == '.' && name[1] == '.' && name[2] == '\0';
}

static void statx_to_stat(const struct statx *x, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_dev = makedev(x->stx_dev_major, x->stx_dev_minor);
	st->st_ino = (ino_t)x->stx_ino;
	st->st_mode = x->stx_mode;
	st->st_nlink = x->stx_nlink;
	st->st_uid = x->stx_uid;
	st->st_gid = x->stx_gid;
	st->st_rdev = makedev(x->stx_rdev_major, x->stx_rdev_minor);
	st->st_size = (off_t)x->stx_size;
	st->st_blksize = (blksize_t)x->stx_blksize;
	st->st_blocks = (blkcnt_t)x->stx_blocks;
	st->st_atim.tv_sec = x->stx_atime.tv_sec;
	st->st_atim.tv_nsec = x->stx_atime.tv_nsec;
	st->st_mtim.tv_sec = x->stx_mtime.tv_sec;
	st->st_mtim.tv_nsec = x->stx_mtime.tv_nsec;
	st->st_ctim.tv_sec = x->stx_ctime.tv_sec;
	st->st_ctim.tv_nsec = x->stx_ctime.tv_nsec;
}

/*
 * The attributes of fd (just opened below pfd), once its mount is known to
 * be one to serve (submount.c). On SRC's own mount of a local filesystem
 * (fs->local) the statx that gives the mount id without asking anyone
 * gives the exact attributes as well: one call. Elsewhere the check, then
 * fstat. 0 or an errno.
 */
static int lookup_stat(struct sfs *fs, int pfd, int fd, struct stat *st)
{
	const unsigned int want = STATX_BASIC_STATS | STATX_MNT_ID;
	struct statx sx;
	int err;

	if (fs->local &&
	    statx(fd, "",
		  AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | AT_STATX_DONT_SYNC,
		  want, &sx) == 0 &&
	    (sx.stx_mask & want) == want &&
	    (int)sx.stx_mnt_id == fs->root_mnt_id) {
		statx_to_stat(&sx, st);
		return 0;
	}
	err = sfs_submount_check(fs, pfd, fd);
	if (err)
		return err;
	if (fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return errno;
	return 0;
}

/*
 * openat(pfd, name, O_PATH): with cached, only if every name is in the
 * dentry cache (RESOLVE_CACHED: no wait on a directory lock, dirq.c);
 * -1 with *slow set when one is not.
 */
static int lookup_open(int pfd, const char *name, bool cached, bool *slow)
{
	static atomic_bool no_cached; /* the kernel lacks it (before 5.12) */
	const int flags = O_PATH | O_NOFOLLOW | O_CLOEXEC;
	struct open_how how = {.flags = flags, .resolve = RESOLVE_CACHED};
	int fd;

	if (cached && !atomic_load_explicit(&no_cached, memory_order_relaxed)) {
		fd = (int)syscall(SYS_openat2, pfd, name, &how, sizeof(how));
		if (fd >= 0 || (errno != EAGAIN && errno != ENOSYS &&
				errno != EINVAL && errno != E2BIG))
			return fd;
		if (errno == EAGAIN) {
			*slow = true;
			return -1;
		}
		atomic_store_explicit(&no_cached, true, memory_order_relaxed);
	}
	return openat(pfd, name, flags);
}

int sfs_do_lookup(fuse_req_t req, fuse_ino_t parent, const char *name,
		  struct fuse_entry_param *e)
{
	return sfs_try_lookup(req, parent, name, e, NULL);
}

int sfs_try_lookup(fuse_req_t req, fuse_ino_t parent, const char *name,
		   struct fuse_entry_param *e, bool *slow)
{
	struct sfs *fs = sfs_data(req);
	struct sfs_inode *inode;
	int pfd, newfd, saverr;
	bool wait = false;

	memset(e, 0, sizeof(*e));
	e->attr_timeout = fs->timeout;
	e->entry_timeout = fs->timeout;

	if (strchr(name, '/'))
		return EINVAL;
	/* ".." of the root is the root: nothing outside SRC is reachable. */
	if (parent == FUSE_ROOT_ID && name_is_dotdot(name))
		name = ".";

	pfd = sfs_get(req, parent);
	if (pfd < 0)
		return -pfd;
	newfd = lookup_open(pfd, name, slow != NULL, &wait);
	saverr = errno;
	/* Crossed into another mount: checked before anything asks it. */
	if (newfd >= 0)
		saverr = lookup_stat(fs, pfd, newfd, &e->attr);
	sfs_put(sfs_data(req), parent);
	if (wait) {
		*slow = true;
		return EAGAIN;
	}
	if (newfd < 0)
		return sfs_note_err(saverr);
	if (saverr) {
		close(newfd);
		return saverr;
	}
	if (e->attr.st_dev == fs->root.dev && e->attr.st_ino == fs->root.ino) {
		/* The root has its own id and is never forgotten. */
		close(newfd);
		inode = &fs->root;
	} else {
		inode = inode_get(fs, newfd, &e->attr);
		if (!inode)
			return ENOMEM;
	}
	e->ino = sfs_ino(fs, inode);
	/* The kernel now knows a file here: READDIRPLUS gives attributes. */
	if (!S_ISDIR(e->attr.st_mode))
		sfs_mark_statkids(fs, sfs_inode(req, parent));
	sfs_stat_to_view(fs, &e->attr);
	sfs_debug(fs, "lookup %llu/%s -> %llu (source ino %llu)",
		  (unsigned long long)parent, name, (unsigned long long)e->ino,
		  (unsigned long long)e->attr.st_ino);
	return 0;
}

/*
 * Is inode, found at st's (dev, ino) with the table lock held and its fd
 * evicted, the file name in dfd is now? The lock is dropped meanwhile.
 */
static bool handle_is_name(struct sfs_table *t, struct sfs_inode *inode,
			   const struct stat *st, int dfd, const char *name)
{
	struct sfs_fh fh, mine;
	int mnt_id, mnt;

	mine.h.handle_bytes = inode->hlen;
	mine.h.handle_type = inode->htype;
	memcpy(mine.h.f_handle, inode->handle, inode->hlen);
	mnt = inode->mnt;
	pthread_mutex_unlock(&t->lock);

	/* No filesystem is asked (a mount point's handle is its root's). */
	fh.h.handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(dfd, name, &fh.h, &mnt_id, 0) < 0 ||
	    mnt_id != t->mnt_id[mnt] ||
	    fh.h.handle_bytes != mine.h.handle_bytes ||
	    fh.h.handle_type != mine.h.handle_type ||
	    memcmp(fh.h.f_handle, mine.h.f_handle, fh.h.handle_bytes) != 0) {
		pthread_mutex_lock(&t->lock);
		return false;
	}
	pthread_mutex_lock(&t->lock);
	return table_find(t, st->st_dev, st->st_ino) == inode &&
	       !(inode->flags & SFS_INODE_DEAD) && inode->nlookup &&
	       same_handle(inode, &fh, mnt);
}

/*
 * The readdirplus fast path (ops_dir.c): the inode already in the table at
 * name in directory fd dfd, with one more reference. No open and no new
 * inode: an entry the kernel does not know yet goes out without attributes
 * (NULL here), which costs a LOOKUP only if someone stats it (find does
 * not).
 *
 * name is stat()ed with AT_STATX_DONT_SYNC, which asks no filesystem: name
 * may be the mount point of a FUSE server that never answers
 * (submount.c), and such a mount's root is never in the table. On SRC's
 * own local filesystem (ext4, tmpfs, ...: fs->local) those attributes are
 * the file's; elsewhere they may be stale and come from the inode's own fd
 * instead, never from name again. A table inode with an fd is pinned, so
 * its (dev, ino) is exact; one without (its fd evicted) must have the same
 * handle as name (or reopen by it), since an inode number may be reused
 * once the inode is gone.
 */
struct sfs_inode *sfs_lookup_known(struct sfs *fs, int dfd, const char *name,
				   struct stat *st)
{
	struct sfs_table *t = &fs->table;
	struct sfs_inode *inode;
	struct statx sx;
	unsigned int want = fs->local ? STATX_BASIC_STATS : STATX_INO;
	bool exact, same;
	dev_t dev;
	ino_t ino;
	int fd;

	if (statx(dfd, name,
		  AT_SYMLINK_NOFOLLOW | AT_STATX_DONT_SYNC | AT_NO_AUTOMOUNT,
		  want, &sx) < 0 ||
	    (sx.stx_mask & want) != want)
		return NULL;
	statx_to_stat(&sx, st);
	dev = st->st_dev;
	ino = st->st_ino;
	if (dev == fs->root.dev && ino == fs->root.ino)
		return NULL;
	exact = fs->local && dev == fs->root.dev;
	pthread_mutex_lock(&t->lock);
	inode = table_find(t, dev, ino);
	if (!inode || !inode->nlookup || (inode->flags & SFS_INODE_DEAD) ||
	    (inode->fd < 0 && !inode->hlen) ||
	    (exact && inode->fd < 0 &&
	     !handle_is_name(t, inode, st, dfd, name))) {
		pthread_mutex_unlock(&t->lock);
		return NULL;
	}
	inode->nlookup++;
	inode->flags |= SFS_INODE_REF;
	pthread_mutex_unlock(&t->lock);
	if (exact)
		return inode;

	fd = sfs_iget(fs, inode);
	same = fd >= 0 &&
	       fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) == 0 &&
	       st->st_dev == dev && st->st_ino == ino;
	if (fd >= 0)
		sfs_iput(fs, inode);
	if (!same) {
		sfs_unref(fs, inode, 1);
		return NULL;
	}
	return inode;
}

void sfs_mark_statkids(struct sfs *fs, struct sfs_inode *dir)
{
	pthread_mutex_lock(&fs->table.lock);
	dir->flags |= SFS_INODE_STATKIDS;
	pthread_mutex_unlock(&fs->table.lock);
}

bool sfs_statkids(struct sfs *fs, struct sfs_inode *dir)
{
	bool set;

	pthread_mutex_lock(&fs->table.lock);
	set = dir->flags & SFS_INODE_STATKIDS;
	pthread_mutex_unlock(&fs->table.lock);
	return set;
}

void sfs_unref(struct sfs *fs, struct sfs_inode *inode, uint64_t n)
{
	struct sfs_table *t = &fs->table;

	if (inode == &fs->root)
		return;
	pthread_mutex_lock(&t->lock);
	if (n > inode->nlookup) {
		shift_log(SHIFT_LOG_WARNING,
			  "kernel forgot %llu references of an inode with %llu",
			  (unsigned long long)n,
			  (unsigned long long)inode->nlookup);
		n = inode->nlookup;
	}
	inode->nlookup -= n;
	if (inode->nlookup) {
		pthread_mutex_unlock(&t->lock);
		return;
	}
	table_remove(t, inode);
	if (inode->slot >= 0) {
		t->ring[inode->slot] = NULL;
		t->nfds--;
		inode->slot = -1;
	}
	if (inode->pins) {
		/* An op still uses it (it replied already): its put frees. */
		inode->flags |= SFS_INODE_DEAD;
		pthread_mutex_unlock(&t->lock);
		return;
	}
	pthread_mutex_unlock(&t->lock);
	if (inode->fd >= 0)
		close(inode->fd);
	free(inode);
}
