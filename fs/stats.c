/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The request counter: per FUSE opcode, how many requests and the mean
 * time the daemon spent on them (handler entry to return; every handler
 * replies before it returns). SIGUSR1 logs one line per opcode seen:
 *
 *   shiftfs: stats: WRITE 1024 requests, mean 11.2 us
 *
 * then "stats: total N requests"; with -o stats_file=PATH it also writes
 * them to PATH (a temporary file renamed over it, so a reader sees one
 * whole dump), for shiftctl status --stats:
 *
 *   {"pid": 1234, "seq": 3, "total": 1100,
 *    "ops": [{"op": "WRITE", "requests": 1024, "mean_us": 11.2}, ...]}
 *
 * seq counts the dumps, so a reader that signalled knows when its answer
 * is there. Counting is two clock_gettime() (vDSO)
 * and two relaxed atomic adds per request; it is always on. A request is
 * counted when its handler starts (so before its reply); the mean is over
 * the requests whose handlers have returned, nearly all of them.
 *
 * The handlers are wrapped at startup (sfs_stats_wrap()), so the op table
 * in main.c stays as it is: each wrapper calls the original from a copy.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"
#include "log.h"

enum {
	OP_LOOKUP, OP_FORGET, OP_GETATTR, OP_SETATTR, OP_READLINK, OP_MKNOD,
	OP_MKDIR, OP_UNLINK, OP_RMDIR, OP_SYMLINK, OP_RENAME, OP_LINK, OP_OPEN,
	OP_READ, OP_WRITE, OP_FLUSH, OP_RELEASE, OP_FSYNC, OP_OPENDIR,
	OP_READDIR, OP_RELEASEDIR, OP_FSYNCDIR, OP_STATFS, OP_SETXATTR,
	OP_GETXATTR, OP_LISTXATTR, OP_REMOVEXATTR, OP_CREATE, OP_FALLOCATE,
	OP_READDIRPLUS, OP_COPY_FILE_RANGE, OP_LSEEK, OP_IOCTL, OP_COUNT
};

static const char *const op_names[OP_COUNT] = {
	"LOOKUP", "FORGET", "GETATTR", "SETATTR", "READLINK", "MKNOD",
	"MKDIR", "UNLINK", "RMDIR", "SYMLINK", "RENAME", "LINK", "OPEN",
	"READ", "WRITE", "FLUSH", "RELEASE", "FSYNC", "OPENDIR",
	"READDIR", "RELEASEDIR", "FSYNCDIR", "STATFS", "SETXATTR",
	"GETXATTR", "LISTXATTR", "REMOVEXATTR", "CREATE", "FALLOCATE",
	"READDIRPLUS", "COPY_FILE_RANGE", "LSEEK", "IOCTL",
};

static struct {
	_Atomic uint64_t n, ns;
} counts[OP_COUNT];

static struct fuse_lowlevel_ops orig;

/* Handlers entered and returned, all opcodes (sfs_stats_progress()). */
static _Atomic uint64_t entered, returned;

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/*
 * Counted on entry, so a request is in the counts before its reply can
 * reach the caller; its time is added when the handler returns.
 */
static uint64_t begin(int op)
{
	atomic_fetch_add_explicit(&counts[op].n, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&entered, 1, memory_order_relaxed);
	return now_ns();
}

static void end(int op, uint64_t t0)
{
	atomic_fetch_add_explicit(&counts[op].ns, now_ns() - t0,
				  memory_order_relaxed);
	atomic_fetch_add_explicit(&returned, 1, memory_order_relaxed);
}

void sfs_stats_progress(uint64_t *in, uint64_t *out)
{
	/* returned first: never more returned than entered */
	*out = atomic_load_explicit(&returned, memory_order_relaxed);
	*in = atomic_load_explicit(&entered, memory_order_relaxed);
}

#define WRAP(name, op, proto, call)                                            \
	static void w_##name proto                                             \
	{                                                                      \
		uint64_t t0 = begin(op);                                       \
		orig.name call;                                                \
		end(op, t0);                                                   \
	}

typedef fuse_req_t R;
typedef fuse_ino_t I;
typedef struct fuse_file_info F;

WRAP(lookup, OP_LOOKUP, (R r, I p, const char *n), (r, p, n))
WRAP(forget, OP_FORGET, (R r, I i, uint64_t n), (r, i, n))
WRAP(forget_multi, OP_FORGET, (R r, size_t c, struct fuse_forget_data *f),
     (r, c, f))
WRAP(getattr, OP_GETATTR, (R r, I i, F *fi), (r, i, fi))
WRAP(setattr, OP_SETATTR, (R r, I i, struct stat *a, int v, F *fi),
     (r, i, a, v, fi))
WRAP(readlink, OP_READLINK, (R r, I i), (r, i))
WRAP(mknod, OP_MKNOD, (R r, I p, const char *n, mode_t m, dev_t d),
     (r, p, n, m, d))
WRAP(mkdir, OP_MKDIR, (R r, I p, const char *n, mode_t m), (r, p, n, m))
WRAP(unlink, OP_UNLINK, (R r, I p, const char *n), (r, p, n))
WRAP(rmdir, OP_RMDIR, (R r, I p, const char *n), (r, p, n))
WRAP(symlink, OP_SYMLINK, (R r, const char *l, I p, const char *n),
     (r, l, p, n))
WRAP(rename, OP_RENAME,
     (R r, I p, const char *n, I np, const char *nn, unsigned int f),
     (r, p, n, np, nn, f))
WRAP(link, OP_LINK, (R r, I i, I np, const char *nn), (r, i, np, nn))
WRAP(open, OP_OPEN, (R r, I i, F *fi), (r, i, fi))
WRAP(read, OP_READ, (R r, I i, size_t s, off_t o, F *fi), (r, i, s, o, fi))
WRAP(write_buf, OP_WRITE, (R r, I i, struct fuse_bufvec *b, off_t o, F *fi),
     (r, i, b, o, fi))
WRAP(flush, OP_FLUSH, (R r, I i, F *fi), (r, i, fi))
WRAP(release, OP_RELEASE, (R r, I i, F *fi), (r, i, fi))
WRAP(fsync, OP_FSYNC, (R r, I i, int d, F *fi), (r, i, d, fi))
WRAP(opendir, OP_OPENDIR, (R r, I i, F *fi), (r, i, fi))
WRAP(readdir, OP_READDIR, (R r, I i, size_t s, off_t o, F *fi),
     (r, i, s, o, fi))
WRAP(releasedir, OP_RELEASEDIR, (R r, I i, F *fi), (r, i, fi))
WRAP(fsyncdir, OP_FSYNCDIR, (R r, I i, int d, F *fi), (r, i, d, fi))
WRAP(statfs, OP_STATFS, (R r, I i), (r, i))
WRAP(setxattr, OP_SETXATTR,
     (R r, I i, const char *n, const char *v, size_t s, int f),
     (r, i, n, v, s, f))
WRAP(getxattr, OP_GETXATTR, (R r, I i, const char *n, size_t s), (r, i, n, s))
WRAP(listxattr, OP_LISTXATTR, (R r, I i, size_t s), (r, i, s))
WRAP(removexattr, OP_REMOVEXATTR, (R r, I i, const char *n), (r, i, n))
WRAP(create, OP_CREATE, (R r, I p, const char *n, mode_t m, F *fi),
     (r, p, n, m, fi))
WRAP(fallocate, OP_FALLOCATE, (R r, I i, int m, off_t o, off_t l, F *fi),
     (r, i, m, o, l, fi))
WRAP(readdirplus, OP_READDIRPLUS, (R r, I i, size_t s, off_t o, F *fi),
     (r, i, s, o, fi))
WRAP(copy_file_range, OP_COPY_FILE_RANGE,
     (R r, I i, off_t oi, F *fi, I io, off_t oo, F *fo, size_t l, int f),
     (r, i, oi, fi, io, oo, fo, l, f))
WRAP(lseek, OP_LSEEK, (R r, I i, off_t o, int w, F *fi), (r, i, o, w, fi))
WRAP(ioctl, OP_IOCTL,
     (R r, I i, unsigned int c, void *a, F *fi, unsigned int fl,
      const void *ib, size_t is, size_t os),
     (r, i, c, a, fi, fl, ib, is, os))

#define SET(name)                                                              \
	do {                                                                   \
		if (ops->name)                                                 \
			ops->name = w_##name;                                  \
	} while (0)

void sfs_stats_wrap(struct fuse_lowlevel_ops *ops)
{
	orig = *ops;
	SET(lookup);
	SET(forget);
	SET(forget_multi);
	SET(getattr);
	SET(setattr);
	SET(readlink);
	SET(mknod);
	SET(mkdir);
	SET(unlink);
	SET(rmdir);
	SET(symlink);
	SET(rename);
	SET(link);
	SET(open);
	SET(read);
	SET(write_buf);
	SET(flush);
	SET(release);
	SET(fsync);
	SET(opendir);
	SET(readdir);
	SET(releasedir);
	SET(fsyncdir);
	SET(statfs);
	SET(setxattr);
	SET(getxattr);
	SET(listxattr);
	SET(removexattr);
	SET(create);
	SET(fallocate);
	SET(readdirplus);
	SET(copy_file_range);
	SET(lseek);
	SET(ioctl);
}

void sfs_stats_log(void)
{
	uint64_t total = 0;
	int i;

	for (i = 0; i < OP_COUNT; i++) {
		uint64_t n = atomic_load_explicit(&counts[i].n,
						  memory_order_relaxed);
		uint64_t ns = atomic_load_explicit(&counts[i].ns,
						   memory_order_relaxed);

		if (!n)
			continue;
		total += n;
		shift_log(SHIFT_LOG_NOTICE,
			  "stats: %s %llu requests, mean %.1f us", op_names[i],
			  (unsigned long long)n, (double)ns / (double)n / 1e3);
	}
	shift_log(SHIFT_LOG_NOTICE, "stats: total %llu requests",
		  (unsigned long long)total);
}

/* -o stats_file=: its directory (opened at start) and name */
static int file_dir = -1;
static char file_name[NAME_MAX + 1];
static char file_tmp[NAME_MAX + 16];

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The counts as JSON into the file, atomically (write, rename). */
static int stats_write(uint64_t seq)
{
	char buf[OP_COUNT * 80 + 128];
	uint64_t total = 0;
	size_t len;
	int i, fd, r, first = 1;

	len = (size_t)snprintf(buf, sizeof(buf), "{\"pid\": %ld, \"seq\": %llu, "
			       "\"ops\": [", (long)getpid(),
			       (unsigned long long)seq);
	for (i = 0; i < OP_COUNT; i++) {
		uint64_t n = atomic_load_explicit(&counts[i].n,
						  memory_order_relaxed);
		uint64_t ns = atomic_load_explicit(&counts[i].ns,
						   memory_order_relaxed);

		if (!n)
			continue;
		total += n;
		len += (size_t)snprintf(buf + len, sizeof(buf) - len,
					"%s{\"op\": \"%s\", \"requests\": %llu, "
					"\"mean_us\": %.1f}",
					first ? "" : ", ", op_names[i],
					(unsigned long long)n,
					(double)ns / (double)n / 1e3);
		first = 0;
	}
	len += (size_t)snprintf(buf + len, sizeof(buf) - len,
				"], \"total\": %llu}\n",
				(unsigned long long)total);
	fd = openat(file_dir, file_tmp,
		    O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	r = write_all(fd, buf, len);
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && renameat(file_dir, file_tmp, file_dir, file_name) < 0)
		r = -errno;
	if (r)
		unlinkat(file_dir, file_tmp, 0);
	return r;
}

/* The thread that waits for SIGUSR1 (blocked in every other thread). */
static void *stats_thread(void *arg)
{
	sigset_t *set = arg;
	uint64_t seq = 0;
	int sig, r, last = 0;

	for (;;) {
		if (sigwait(set, &sig) != 0 || sig != SIGUSR1)
			continue;
		sfs_stats_log();
		if (file_dir < 0)
			continue;
		r = stats_write(++seq);
		if (r && r != last) /* once per cause */
			shift_log(SHIFT_LOG_WARNING,
				  "stats: cannot write %s: %s", file_name,
				  strerror(-r));
		last = r;
	}
	return NULL;
}

/* Opens file's directory; the file itself is written on each SIGUSR1. */
static int stats_file_open(const char *file)
{
	const char *slash = strrchr(file, '/');
	char dir[PATH_MAX];
	size_t dlen = (size_t)(slash - file);

	if (!slash[1] || strlen(slash + 1) > NAME_MAX - 8 ||
	    dlen >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, file, dlen);
	dir[dlen ? dlen : 1] = '\0';
	if (!dlen)
		dir[0] = '/';
	file_dir = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (file_dir < 0)
		return -errno;
	snprintf(file_name, sizeof(file_name), "%s", slash + 1);
	snprintf(file_tmp, sizeof(file_tmp), ".%s.tmp", slash + 1);
	return 0;
}

int sfs_stats_start(const char *file)
{
	static sigset_t set;
	pthread_t t;
	int r;

	if (file) {
		r = stats_file_open(file);
		if (r < 0)
			shift_log(SHIFT_LOG_WARNING,
				  "stats_file=%s: %s: request counts only in "
				  "the log", file, strerror(-r));
	}
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	r = pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (r == 0)
		r = pthread_create(&t, NULL, stats_thread, &set);
	if (r == 0)
		pthread_detach(t);
	return -r;
}
