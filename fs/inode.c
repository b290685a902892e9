/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The inode table: every source inode the kernel holds a reference to, keyed
 * by (st_dev, st_ino) so that hard links are one inode, each with an
 * O_PATH|O_NOFOLLOW fd that every op works relative to (no path is ever
 * resolved twice, no symlink followed). Also the one place where disk
 * attributes become view attributes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs.h"
#include "log.h"

#define SFS_TABLE_MIN 1024

static size_t hash_key(dev_t dev, ino_t ino)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ull;

	h ^= (uint64_t)dev * 0xc2b2ae3d27d4eb4full;
	return (size_t)(h ^ (h >> 29));
}

int sfs_table_init(struct sfs_table *t)
{
	t->nbuckets = SFS_TABLE_MIN;
	t->count = 0;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	if (!t->buckets)
		return -ENOMEM;
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
			close(n->fd);
			free(n);
		}
	}
	free(t->buckets);
	t->buckets = NULL;
	pthread_mutex_destroy(&t->lock);
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
	t->count++;
}

static void table_remove(struct sfs_table *t, struct sfs_inode *inode)
{
	struct sfs_inode **pp;

	pp = &t->buckets[hash_key(inode->dev, inode->ino) & (t->nbuckets - 1)];
	for (; *pp; pp = &(*pp)->next) {
		if (*pp == inode) {
			*pp = inode->next;
			t->count--;
			return;
		}
	}
}

struct sfs_inode *sfs_inode(fuse_req_t req, fuse_ino_t ino)
{
	if (ino == FUSE_ROOT_ID)
		return &sfs_data(req)->root;
	return (struct sfs_inode *)(uintptr_t)ino;
}

int sfs_fd(fuse_req_t req, fuse_ino_t ino)
{
	return sfs_inode(req, ino)->fd;
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

void sfs_stat_to_view(const struct sfs *fs, struct stat *st)
{
	st->st_uid = idmaps_uid_to_view(&fs->maps, st->st_uid);
	st->st_gid = idmaps_gid_to_view(&fs->maps, st->st_gid);
}

int sfs_getattr_view(const struct sfs *fs, int fd, struct stat *st)
{
	if (fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	sfs_stat_to_view(fs, st);
	return 0;
}

/*
 * Find or add the inode for newfd (whose attributes are st) and take one
 * reference. Consumes newfd.
 */
static struct sfs_inode *inode_get(struct sfs *fs, int newfd,
				   const struct stat *st)
{
	struct sfs_table *t = &fs->table;
	struct sfs_inode *inode, *fresh;

	pthread_mutex_lock(&t->lock);
	inode = table_find(t, st->st_dev, st->st_ino);
	if (inode) {
		inode->nlookup++;
		pthread_mutex_unlock(&t->lock);
		close(newfd);
		return inode;
	}
	pthread_mutex_unlock(&t->lock);

	/* Allocate outside the lock; another thread may win the race. */
	fresh = calloc(1, sizeof(*fresh));
	if (!fresh) {
		close(newfd);
		return NULL;
	}
	fresh->fd = newfd;
	fresh->dev = st->st_dev;
	fresh->ino = st->st_ino;
	fresh->is_symlink = S_ISLNK(st->st_mode);
	fresh->nlookup = 1;

	pthread_mutex_lock(&t->lock);
	inode = table_find(t, st->st_dev, st->st_ino);
	if (inode) {
		inode->nlookup++;
	} else {
		table_insert(t, fresh);
		inode = fresh;
		fresh = NULL;
	}
	pthread_mutex_unlock(&t->lock);
	if (fresh) {
		close(fresh->fd);
		free(fresh);
	}
	return inode;
}

static bool name_is_dotdot(const char *name)
{
	return name[0] == '.' && name[1] == '.' && name[2] == '\0';
}

int sfs_do_lookup(fuse_req_t req, fuse_ino_t parent, const char *name,
		  struct fuse_entry_param *e)
{
	struct sfs *fs = sfs_data(req);
	struct sfs_inode *inode;
	int newfd, saverr;

	memset(e, 0, sizeof(*e));
	e->attr_timeout = fs->timeout;
	e->entry_timeout = fs->timeout;

	if (strchr(name, '/'))
		return EINVAL;
	/* ".." of the root is the root: nothing outside SRC is reachable. */
	if (parent == FUSE_ROOT_ID && name_is_dotdot(name))
		name = ".";

	newfd = openat(sfs_fd(req, parent), name, O_PATH | O_NOFOLLOW);
	if (newfd < 0)
		return errno;
	if (fstatat(newfd, "", &e->attr, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) <
	    0) {
		saverr = errno;
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
	sfs_stat_to_view(fs, &e->attr);
	sfs_debug(fs, "lookup %llu/%s -> %llu (source ino %llu)",
		  (unsigned long long)parent, name, (unsigned long long)e->ino,
		  (unsigned long long)e->attr.st_ino);
	return 0;
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
	pthread_mutex_unlock(&t->lock);
	close(inode->fd);
	free(inode);
}
