/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The helper's per-user mount records; see record.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "mountinfo.h"
#include "parse_int.h"
#include "record.h"

int rec_dir_open(uid_t uid)
{
	_cleanup_close_ int fd = -1;
	char name[40];
	struct stat st;
	int lk;

	if (mkdir(HELPER_STATE_DIR, 0700) < 0 && errno != EEXIST)
		return -errno;
	fd = open(HELPER_STATE_DIR,
		  O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_uid != 0 || (st.st_mode & 077))
		return -EPERM;
	/* Left open until exit, which releases the lock. */
	snprintf(name, sizeof(name), "%u.lock", (unsigned)uid);
	lk = openat(fd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (lk < 0)
		return -errno;
	if (flock(lk, LOCK_EX) < 0) {
		int e = errno;

		close(lk);
		return -e;
	}
	return steal_fd(&fd);
}

/* "DIGITS" of length n as a 64-bit number: 0 or -EINVAL. */
static int parse_u64_n(const char *s, size_t n, unsigned long long *out)
{
	unsigned long long v = 0;
	size_t i;

	if (n == 0 || n > 20)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		if (v > (~0ULL - (unsigned)(s[i] - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/*
 * 1: r's mount is there (idmapped), 0: gone, -errno: cannot tell. By the
 * unique id where the kernel has one: a mount id alone is reused, and a
 * stale record would then count someone else's idmapped mount against
 * the caller's max-mounts.
 */
static int rec_alive(const struct helper_rec *r)
{
	static struct mnt_entry e;
	bool idmapped = false;
	int err = mnt_alive(r->id, r->uniq, &idmapped);

	if (err >= 0)
		return err && idmapped;
	if (err != -ENOSYS)
		return err;
	err = mnt_by_id(r->id, &e);
	if (err == -ENOENT)
		return 0;
	if (err < 0)
		return err;
	return mnt_is_idmapped(&e);
}

int rec_load(int dirfd, uid_t uid, struct helper_recs *out)
{
	char name[32], buf[64 * (POLICY_MOUNTS_MAX + 1)];
	_cleanup_close_ int fd = -1;
	const char *p, *end;
	ssize_t len;

	out->n = 0;
	snprintf(name, sizeof(name), "%u", (unsigned)uid);
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	len = read(fd, buf, sizeof(buf));
	if (len < 0)
		return -errno;
	for (p = buf, end = buf + len; p < end;) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *sp = eol ? memchr(p, ' ', (size_t)(eol - p)) : NULL;
		struct helper_rec r;
		uint32_t id;

		if (!eol)
			break;
		if (sp && parse_u32_n(p, (size_t)(sp - p), 1, INT32_MAX,
				      &id) == 0 &&
		    parse_u64_n(sp + 1, (size_t)(eol - sp - 1), &r.uniq) == 0 &&
		    out->n <= POLICY_MOUNTS_MAX) {
			int alive;

			r.id = (int)id;
			alive = rec_alive(&r);
			if (alive < 0)
				return alive;
			if (alive)
				out->r[out->n++] = r;
		}
		p = eol + 1;
	}
	return 0;
}

int rec_save(int dirfd, uid_t uid, const struct helper_recs *in)
{
	char name[32], tmp[40], line[64];
	_cleanup_close_ int fd = -1;
	size_t i;

	snprintf(name, sizeof(name), "%u", (unsigned)uid);
	snprintf(tmp, sizeof(tmp), "%u.tmp", (unsigned)uid);
	if (in->n == 0) {
		if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
			return -errno;
		return 0;
	}
	unlinkat(dirfd, tmp, 0);
	fd = openat(dirfd, tmp,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	for (i = 0; i < in->n; i++) {
		int n = snprintf(line, sizeof(line), "%d %llu\n", in->r[i].id,
				 in->r[i].uniq);

		ssize_t w = write(fd, line, (size_t)n);

		if (w != n) {
			/* short (RLIMIT_FSIZE, a full disk): errno is stale */
			if (w >= 0)
				errno = EIO;
			goto fail;
		}
	}
	if (fsync(fd) < 0 || renameat(dirfd, tmp, dirfd, name) < 0)
		goto fail;
	return 0;
fail:
	i = (size_t)(errno ? errno : EIO);
	unlinkat(dirfd, tmp, 0);
	return -(int)i;
}
