/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One inode of a rewrite, reached only through fds: where it is (struct
 * loc: a name in its directory's fd), an O_PATH fd checked to be the inode
 * examined (device, inode number, ctime, birth time, generation), and its
 * xattrs and mode read and written through /proc/self/fd, never by name.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "rewrite_int.h"

/* <linux/fs.h> clashes with <sys/xattr.h>; the kernel writes an int. */
#ifndef FS_IOC_GETVERSION
#define FS_IOC_GETVERSION _IOR('v', 1, long)
#endif

#if defined(__x86_64__) || defined(__aarch64__)
#define NR_LISTXATTRAT 465 /* Linux 6.13 */
#endif

/* ---- small helpers ---- */

void loc_of(const struct walk_entry *e, struct loc *l)
{
	*l = (struct loc){e->dir, e->dfd, e->name, e->at_empty, e->stx.stx_ino};
}

void loc_path(const struct loc *l, char *buf, size_t len)
{
	struct walk_entry e = {
		.dir = l->dir, .name = l->name, .is_root = l->at_empty != 0};

	walk_entry_path(&e, buf, len);
}

void loc_error(struct run *r, const struct loc *l, const char *what, int err)
{
	struct walk_entry e = {
		.dir = l->dir, .name = l->name, .is_root = l->at_empty != 0};

	walk_error(&r->w, &e, what, err);
}

/* An O_PATH fd of l's inode as named now (never following a symlink):
 * the fd, or -1 with errno set. */
static int loc_path_fd(const struct loc *l)
{
	if (l->at_empty)
		return fcntl(l->dfd, F_DUPFD_CLOEXEC, 3);
	return openat(l->dfd, l->name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
}

/* An O_PATH fd of the inode itself, checked to be the one we saw, not
 * renamed or changed since (ctime): so the xattr names listed by name
 * before were its own. */
int loc_open(const struct loc *l, const struct statx *seen)
{
	struct statx st;
	int fd;

	fd = loc_path_fd(l);
	if (fd < 0)
		return -errno;
	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW,
		  STATX_BASIC_STATS, &st) < 0 ||
	    st.stx_ino != l->ino ||
	    st.stx_ctime.tv_sec != seen->stx_ctime.tv_sec ||
	    st.stx_ctime.tv_nsec != seen->stx_ctime.tv_nsec) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

void proc_fd(int fd, char *buf, size_t len)
{
	snprintf(buf, len, "/proc/self/fd/%d", fd);
}

void target_close(struct target *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

/* The generation of t (FS_IOC_GETVERSION needs an fd that is not O_PATH). */
static void target_gen(struct target *t)
{
	char p[64];
	uint64_t v = 0;
	int32_t g;
	int fd, fl;

	if (t->has_gen || t->fd < 0 ||
	    !(S_ISREG(t->stx.stx_mode) || S_ISDIR(t->stx.stx_mode)))
		return;
	fl = fcntl(t->fd, F_GETFL);
	if (fl >= 0 && (fl & O_PATH)) {
		proc_fd(t->fd, p, sizeof(p));
		fd = open(p,
			  O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC |
				  (S_ISDIR(t->stx.stx_mode) ? O_DIRECTORY : 0));
		if (fd < 0)
			return; /* not readable (unprivileged): no generation */
		close(t->fd);
		t->fd = fd;
	}
	if (ioctl(t->fd, FS_IOC_GETVERSION, &v) < 0)
		return;
	memcpy(&g, &v, sizeof(g));
	t->gen = (uint32_t)g;
	t->has_gen = true;
}

/* Open the inode at l, check it is (dev, ino): 0, -ESTALE, -errno. */
int target_open(const struct loc *l, uint64_t dev, uint64_t ino, bool want_gen,
		struct target *t)
{
	int fd, rr;

	t->fd = -1;
	t->has_gen = false;
	fd = loc_path_fd(l);
	if (fd < 0)
		return -errno;
	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, TARGET_STATX,
		  &t->stx) < 0) {
		rr = -errno;
		close(fd);
		return rr;
	}
	if (walk_stx_dev(&t->stx) != dev || t->stx.stx_ino != ino) {
		close(fd);
		return -ESTALE;
	}
	t->fd = fd;
	if (want_gen)
		target_gen(t);
	return 0;
}

/* Is the open inode t the one e recorded (not a reused inode number)? */
bool target_is(const struct target *t, const struct journal_entry *e)
{
	if ((t->stx.stx_mode & S_IFMT) != (e->mode & S_IFMT))
		return false;
	if ((e->id_flags & JID_BTIME) &&
	    (!(t->stx.stx_mask & STATX_BTIME) ||
	     t->stx.stx_btime.tv_sec != e->btime_sec ||
	     t->stx.stx_btime.tv_nsec != e->btime_nsec))
		return false;
	if ((e->id_flags & JID_GEN) && (!t->has_gen || t->gen != e->gen))
		return false;
	return true;
}

bool same_ctime(const struct statx *s, int64_t sec, uint32_t nsec)
{
	return s->stx_ctime.tv_sec == sec && s->stx_ctime.tv_nsec == nsec;
}

/* Names of the xattrs on an inode (never following a symlink). */
ssize_t loc_listxattr(const struct loc *l, char *buf, size_t size)
{
	char p[64 + NAME_MAX];
	ssize_t n;
#ifdef NR_LISTXATTRAT
	static atomic_bool no_xattrat;

	/* (Not for the root: an O_PATH fd with AT_EMPTY_PATH gets EBADF.) */
	if (!l->at_empty && !atomic_load(&no_xattrat)) {
		n = syscall(NR_LISTXATTRAT, l->dfd, l->name,
			    AT_SYMLINK_NOFOLLOW | l->at_empty, buf, size);
		if (n >= 0 || errno != ENOSYS)
			return n < 0 ? -errno : n;
		atomic_store(&no_xattrat, true);
	}
#endif
	if (l->at_empty) {
		proc_fd(l->dfd, p, sizeof(p));
		n = listxattr(p, buf, size);
	} else {
		snprintf(p, sizeof(p), "/proc/self/fd/%d/%s", l->dfd, l->name);
		n = llistxattr(p, buf, size);
	}
	return n < 0 ? -errno : n;
}

bool list_has(const char *list, ssize_t n, const char *name)
{
	ssize_t i = 0;

	while (i < n) {
		if (!strcmp(list + i, name))
			return true;
		i += (ssize_t)strlen(list + i) + 1;
	}
	return false;
}

/* Read one xattr of the O_PATH fd into a new buffer; 0 length = absent. */
int fd_getxattr(int fd, const char *name, void **val, uint32_t *len)
{
	char p[64];
	ssize_t n;

	proc_fd(fd, p, sizeof(p));
	*val = NULL;
	*len = 0;
	for (;;) {
		n = getxattr(p, name, NULL, 0);
		if (n < 0)
			return errno == ENODATA || errno == ENOTSUP ? 0
								    : -errno;
		free(*val);
		*val = malloc(n ? (size_t)n : 1);
		if (!*val)
			return -ENOMEM;
		n = getxattr(p, name, *val, (size_t)n);
		if (n >= 0)
			break;
		if (errno != ERANGE)
			return errno == ENODATA ? 0 : -errno;
	}
	*len = (uint32_t)n;
	if (!n) {
		free(*val);
		*val = NULL;
	}
	return 0;
}

int fd_setxattr(int fd, const char *name, const void *val, size_t len)
{
	char p[64];

	proc_fd(fd, p, sizeof(p));
	walk_test_step();
	return setxattr(p, name, val, len, 0) < 0 ? -errno : 0;
}

bool same_blob(const void *a, uint32_t alen, const void *b, uint32_t blen)
{
	return alen == blen && (!alen || !memcmp(a, b, alen));
}

int set_mode(int fd, uint32_t mode)
{
	char p[64];

	proc_fd(fd, p, sizeof(p));
	walk_test_step();
	return chmod(p, mode & 07777) < 0 ? -errno : 0;
}
