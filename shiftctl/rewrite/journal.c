/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The resume/undo journal; format and guarantees in journal.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "journal.h"
#include "walk.h"

#define MAGIC "SHIFTJNL"
#define VERSION 2
#define REC_BATCH 0x48435442u /* "BTCH" */
#define REC_AFTER 0x444c5041u /* "APLD" */
#define REC_DONE 0x454e4f44u  /* "DONE" */
#define REC_UNDO 0x4e444e55u  /* "UNDN" */
#define HDR_SEQ 0x31514553u   /* "SEQ1": the header's sequence number */

struct rec_head {
	uint32_t magic;
	uint32_t count;
	uint64_t len; /* payload bytes, a multiple of 8 */
};

struct ent_head {
	uint64_t dev, ino;
	uint32_t uid, gid, mode;
	uint32_t la_len, ld_len, caps_len;
	uint32_t id_flags, gen;
	int64_t btime_sec;
	uint32_t btime_nsec, pad;
};

struct after_head {
	uint64_t dev, ino;
	uint32_t uid, gid, mode, ctime_nsec;
	int64_t ctime_sec;
};

struct journal {
	int fd;
	atomic_size_t batches;
	char path[PATH_MAX];
	pthread_mutex_t lock;
};

/* ---- CRC32 (IEEE) ---- */

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
	uint32_t i, j, c;

	for (i = 0; i < 256; i++) {
		for (c = i, j = 0; j < 8; j++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

static uint32_t crc32_update(uint32_t crc, const void *buf, size_t n)
{
	const unsigned char *p = buf;

	pthread_once(&crc_once, crc_init);
	crc = ~crc;
	while (n--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static size_t pad8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

/* ---- files and directories ---- */

static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX], *s;

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	for (s = tmp + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int journal_default_dir(char *buf, size_t len)
{
	const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");

	if (geteuid() == 0)
		snprintf(buf, len, "/var/lib/shiftctl/journal");
	else if (state && state[0] == '/')
		snprintf(buf, len, "%s/shiftctl", state);
	else if (home && home[0] == '/')
		snprintf(buf, len, "%s/.local/state/shiftctl", home);
	else
		return -ENOENT;
	return mkdir_p(buf, 0700);
}

static const char *verb_name(uint32_t verb)
{
	return verb == JOURNAL_SHIFT ? "shift" : "chown";
}

void journal_default_name(const char *dir, const struct journal_params *p,
			  char *buf, size_t len)
{
	char ts[32];
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(buf, len, "%s/%s-%llx-%llu-%s-%d.journal", dir,
		 verb_name(p->verb), (unsigned long long)p->root_dev,
		 (unsigned long long)p->root_ino, ts, (int)getpid());
}

static int write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Split path into its directory and last component. */
static int split_path(const char *path, char *dir, char *base)
{
	char t1[PATH_MAX], t2[PATH_MAX];
	const char *b;

	if (snprintf(t1, sizeof(t1), "%s", path) >= (int)sizeof(t1))
		return -ENAMETOOLONG;
	snprintf(t2, sizeof(t2), "%s", path);
	b = basename(t2);
	if (!*b || !strcmp(b, ".") || !strcmp(b, "..") || !strcmp(b, "/"))
		return -EISDIR;
	snprintf(dir, PATH_MAX, "%s", dirname(t1));
	snprintf(base, NAME_MAX + 1, "%s", b);
	return 0;
}

/*
 * Open the directory of a journal once (its last component never a
 * symlink) and check on the fd that nobody but us (or root) can add,
 * replace or rename entries in it. -EPERM with the reason in err.
 */
static int open_dir_checked(const char *dir, int flags, char *err,
			    size_t errlen)
{
	struct stat st;
	int fd, r;

	fd = open(dir, flags | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "directory %s: %s", dir, strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		snprintf(err, errlen, "directory %s: %s", dir, strerror(-r));
		close(fd);
		return r;
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		char who[32] = "root";

		if (geteuid())
			snprintf(who, sizeof(who), "uid %u or root",
				 (unsigned)geteuid());
		snprintf(err, errlen,
			 "refusing it: its directory %s belongs to uid %u, "
			 "not to %s",
			 dir, (unsigned)st.st_uid, who);
		close(fd);
		return -EPERM;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
		snprintf(err, errlen,
			 "refusing it: its directory %s is writable by %s "
			 "(and not sticky)",
			 dir, st.st_mode & S_IWOTH ? "others" : "its group");
		close(fd);
		return -EPERM;
	}
	return fd;
}

/* The journal file fd is trustworthy: ours, written by nobody else. */
static int check_file(int fd, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -errno;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "not a shiftctl journal");
		return -EINVAL;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, errlen,
			 "refusing it: owned by uid %u, not by uid %u",
			 (unsigned)st.st_uid, (unsigned)geteuid());
		return -EPERM;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, errlen,
			 "refusing it: writable by group or others (mode %04o)",
			 (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

/* ---- header ---- */

static void put(unsigned char **o, const void *v, size_t n)
{
	if (n)
		memcpy(*o, v, n);
	*o += n;
}

static void put_map(unsigned char **o, const struct idmap *m)
{
	uint32_t i;

	put(o, &m->n, 4);
	for (i = 0; i < m->n; i++) {
		put(o, &m->r[i].disk, 4);
		put(o, &m->r[i].view, 4);
		put(o, &m->r[i].count, 4);
	}
}

/* Serialize the header into buf (big enough: 64 KiB); returns its size.
 * seq goes in the SEQ1 extension after the root path. */
static size_t header_encode(const struct journal_params *p, uint64_t seq,
			    unsigned char *buf)
{
	unsigned char *o = buf;
	uint32_t v = VERSION, plen = (uint32_t)strlen(p->root_path), crc;
	uint32_t len, tag = HDR_SEQ;

	put(&o, MAGIC, 8);
	put(&o, &v, 4);
	o += 4; /* header length, filled below */
	put(&o, &p->verb, 4);
	put(&o, &p->flags, 4);
	put(&o, &p->uid, 4);
	put(&o, &p->gid, 4);
	put(&o, &p->from_uid, 4);
	put(&o, &p->from_gid, 4);
	put(&o, &p->root_dev, 8);
	put(&o, &p->root_ino, 8);
	put(&o, &p->maps.overflow_uid, 4);
	put(&o, &p->maps.overflow_gid, 4);
	put_map(&o, &p->maps.uid);
	put_map(&o, &p->maps.gid);
	put(&o, &plen, 4);
	put(&o, p->root_path, plen);
	put(&o, &tag, 4);
	put(&o, &seq, 8);
	len = (uint32_t)pad8((size_t)(o - buf) + 4);
	memset(o, 0, len - (size_t)(o - buf));
	memcpy(buf + 12, &len, 4);
	crc = crc32_update(0, buf, len - 4);
	memcpy(buf + len - 4, &crc, 4);
	return len;
}

struct reader {
	const unsigned char *p, *end;
	bool bad;
};

static void get(struct reader *r, void *v, size_t n)
{
	if ((size_t)(r->end - r->p) < n) {
		r->bad = true;
		memset(v, 0, n);
		return;
	}
	memcpy(v, r->p, n);
	r->p += n;
}

static void get_map(struct reader *r, struct idmap *m)
{
	struct shift_diag d;
	uint32_t n, i, disk, view, count;

	idmap_init(m);
	get(r, &n, 4);
	if (n > IDMAP_MAX_RANGES)
		r->bad = true;
	for (i = 0; i < n && !r->bad; i++) {
		get(r, &disk, 4);
		get(r, &view, 4);
		get(r, &count, 4);
		if (!r->bad && idmap_add(m, disk, view, count, &d) < 0)
			r->bad = true;
	}
}

static int header_decode(const unsigned char *buf, size_t size,
			 struct journal_params *p, uint64_t *seq, size_t *hlen)
{
	struct reader r = {buf, buf + size, false};
	uint32_t v, len, plen, crc, tag;
	char magic[8];

	memset(p, 0, sizeof(*p));
	get(&r, magic, 8);
	if (r.bad || memcmp(magic, MAGIC, 8))
		return -EINVAL;
	get(&r, &v, 4);
	get(&r, &len, 4);
	if (!r.bad && v == 1)
		return -EPROTO;
	if (r.bad || v != VERSION || len < 64 || len > size || len % 8)
		return -EBADMSG;
	memcpy(&crc, buf + len - 4, 4);
	if (crc != crc32_update(0, buf, len - 4))
		return -EBADMSG;
	r.end = buf + len - 4;
	get(&r, &p->verb, 4);
	get(&r, &p->flags, 4);
	get(&r, &p->uid, 4);
	get(&r, &p->gid, 4);
	get(&r, &p->from_uid, 4);
	get(&r, &p->from_gid, 4);
	get(&r, &p->root_dev, 8);
	get(&r, &p->root_ino, 8);
	get(&r, &p->maps.overflow_uid, 4);
	get(&r, &p->maps.overflow_gid, 4);
	get_map(&r, &p->maps.uid);
	get_map(&r, &p->maps.gid);
	get(&r, &plen, 4);
	if (r.bad || plen >= sizeof(p->root_path))
		return -EBADMSG;
	get(&r, p->root_path, plen);
	if (r.bad || (p->verb != JOURNAL_CHOWN && p->verb != JOURNAL_SHIFT))
		return -EBADMSG;
	/* Format 2 before the SEQ1 extension: at most 7 bytes of padding. */
	*seq = 0;
	if (r.end - r.p >= 12) {
		get(&r, &tag, 4);
		if (tag == HDR_SEQ)
			get(&r, seq, 8);
	}
	*hlen = len;
	return 0;
}

/* ---- writing ---- */

/*
 * The header of the journal name in dfd, opened the way load() opens a
 * journal (no symlink, ours, written by nobody else): its parameters and
 * sequence number. Only the header is read.
 */
static int peek_header(int dfd, const char *name, struct journal_params *p,
		       uint64_t *seq)
{
	unsigned char *buf;
	char err[128];
	size_t hlen;
	ssize_t n;
	int fd, r;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = check_file(fd, err, sizeof(err));
	buf = r == 0 ? malloc(65536) : NULL;
	if (r == 0 && !buf)
		r = -ENOMEM;
	if (r == 0) {
		n = pread(fd, buf, 65536, 0);
		r = n < 0 ? -errno
			  : header_decode(buf, (size_t)n, p, seq, &hlen);
	}
	free(buf);
	close(fd);
	return r;
}

/*
 * A new journal's sequence number: one more than the highest among the
 * journals (*.journal) in its directory for the same tree, so that "the
 * newest journal of a tree" does not hang on whole-second times.
 */
static uint64_t next_seq(int dfd, uint64_t dev, uint64_t ino)
{
	struct journal_params *p = malloc(sizeof(*p));
	uint64_t best = 0, seq;
	struct dirent *de;
	DIR *d;
	int fd;

	fd = p ? dup(dfd) : -1;
	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		free(p);
		return 1;
	}
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);

		if (n < 9 || strcmp(de->d_name + n - 8, ".journal"))
			continue;
		if (peek_header(dfd, de->d_name, p, &seq) == 0 &&
		    p->root_dev == dev && p->root_ino == ino && seq > best)
			best = seq;
	}
	closedir(d);
	free(p);
	return best + 1;
}

int journal_create(const char *path, const struct journal_params *p,
		   struct journal **out, char *err, size_t errlen)
{
	unsigned char *buf = malloc(65536);
	struct journal *j = calloc(1, sizeof(*j));
	char dir[PATH_MAX], base[NAME_MAX + 1];
	int r, dfd = -1;
	uint64_t seq;
	size_t len;

	snprintf(err, errlen, "%s", "");
	if (!buf || !j) {
		r = -ENOMEM;
		goto err;
	}
	r = split_path(path, dir, base);
	if (r < 0)
		goto err;
	/* The journal goes where undo will accept it from. */
	dfd = open_dir_checked(dir, O_RDONLY, err, errlen);
	if (dfd < 0) {
		r = dfd;
		goto err;
	}
	seq = next_seq(dfd, p->root_dev, p->root_ino);
	j->fd = openat(dfd, base,
		       O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_NOFOLLOW |
			       O_CLOEXEC,
		       0600);
	if (j->fd < 0) {
		r = -errno;
		goto err;
	}
	len = header_encode(p, seq, buf);
	r = write_all(j->fd, buf, len);
	if (r == 0 && fsync(j->fd) < 0)
		r = -errno;
	if (r == 0 && fsync(dfd) < 0)
		r = -errno;
	if (r < 0) {
		close(j->fd);
		unlinkat(dfd, base, 0);
		goto err;
	}
	close(dfd);
	snprintf(j->path, sizeof(j->path), "%s", path);
	pthread_mutex_init(&j->lock, NULL);
	free(buf);
	*out = j;
	return 0;
err:
	if (dfd >= 0)
		close(dfd);
	if (!err[0])
		snprintf(err, errlen, "%s", strerror(-r));
	free(buf);
	free(j);
	return r;
}

int journal_reopen(const struct journal_loaded *jl, struct journal **out)
{
	struct journal *j = calloc(1, sizeof(*j));
	int r;

	char proc[64];

	if (!j)
		return -ENOMEM;
	/* The file that was loaded and checked, not whatever the path names
	 * now. */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", jl->fd);
	j->fd = jl->fd >= 0 ? open(proc, O_WRONLY | O_CLOEXEC) : -1;
	if (jl->fd < 0)
		errno = EBADF;
	if (j->fd < 0) {
		r = -errno;
		free(j);
		return r;
	}
	if ((jl->valid_end != jl->size &&
	     (ftruncate(j->fd, (off_t)jl->valid_end) < 0 ||
	      fsync(j->fd) < 0)) ||
	    lseek(j->fd, (off_t)jl->valid_end, SEEK_SET) < 0) {
		r = -errno;
		close(j->fd);
		free(j);
		return r;
	}
	snprintf(j->path, sizeof(j->path), "%s", jl->path);
	pthread_mutex_init(&j->lock, NULL);
	*out = j;
	return 0;
}

size_t journal_batches(struct journal *j)
{
	return atomic_load(&j->batches);
}

const char *journal_path(const struct journal *j)
{
	return j->path;
}

static int append_record(struct journal *j, uint32_t magic, uint32_t count,
			 unsigned char *buf, size_t payload)
{
	struct rec_head h = {magic, count, payload};
	uint32_t crc;
	off_t at;
	int r;

	/* buf has room for the head before and the CRC after the payload. */
	memcpy(buf, &h, sizeof(h));
	crc = crc32_update(0, buf, sizeof(h) + payload);
	memcpy(buf + sizeof(h) + payload, &crc, 4);
	memset(buf + sizeof(h) + payload + 4, 0, 4);
	pthread_mutex_lock(&j->lock);
	at = lseek(j->fd, 0, SEEK_END);
	r = write_all(j->fd, buf, sizeof(h) + payload + 8);
	if (r < 0 && at >= 0 && ftruncate(j->fd, at) == 0)
		(void)fdatasync(j->fd); /* drop the torn record now */
	pthread_mutex_unlock(&j->lock);
	if (r == 0 && fdatasync(j->fd) < 0)
		r = -errno;
	if (r == 0)
		walk_test_step();
	return r;
}

int journal_write_batch(struct journal *j, const struct journal_entry *e,
			size_t n)
{
	size_t i, payload = 0;
	unsigned char *buf, *o;
	int r;

	for (i = 0; i < n; i++)
		payload += pad8(sizeof(struct ent_head) + e[i].acl_access_len +
				e[i].acl_default_len + e[i].caps_len);
	buf = malloc(sizeof(struct rec_head) + payload + 8);
	if (!buf)
		return -ENOMEM;
	o = buf + sizeof(struct rec_head);
	for (i = 0; i < n; i++) {
		struct ent_head h = {.dev = e[i].dev,
				     .ino = e[i].ino,
				     .uid = e[i].uid,
				     .gid = e[i].gid,
				     .mode = e[i].mode,
				     .la_len = e[i].acl_access_len,
				     .ld_len = e[i].acl_default_len,
				     .caps_len = e[i].caps_len,
				     .id_flags = e[i].id_flags,
				     .gen = e[i].gen,
				     .btime_sec = e[i].btime_sec,
				     .btime_nsec = e[i].btime_nsec};
		unsigned char *start = o;

		put(&o, &h, sizeof(h));
		put(&o, e[i].acl_access, e[i].acl_access_len);
		put(&o, e[i].acl_default, e[i].acl_default_len);
		put(&o, e[i].caps, e[i].caps_len);
		while ((size_t)(o - start) % 8)
			*o++ = 0;
	}
	r = append_record(j, REC_BATCH, (uint32_t)n, buf, payload);
	if (r == 0)
		atomic_fetch_add(&j->batches, 1);
	free(buf);
	return r;
}

int journal_write_after(struct journal *j, const struct journal_after *a,
			size_t n)
{
	size_t payload = n * sizeof(struct after_head), i;
	unsigned char *buf = malloc(sizeof(struct rec_head) + payload + 8);
	struct rec_head h = {REC_AFTER, (uint32_t)n, payload};
	uint32_t crc;
	int r;

	if (!buf)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		struct after_head ah = {
			a[i].dev,  a[i].ino,	    a[i].uid,	   a[i].gid,
			a[i].mode, a[i].ctime_nsec, a[i].ctime_sec};

		memcpy(buf + sizeof(h) + i * sizeof(ah), &ah, sizeof(ah));
	}
	memcpy(buf, &h, sizeof(h));
	crc = crc32_update(0, buf, sizeof(h) + payload);
	memcpy(buf + sizeof(h) + payload, &crc, 4);
	memset(buf + sizeof(h) + payload + 4, 0, 4);
	pthread_mutex_lock(&j->lock);
	r = write_all(j->fd, buf, sizeof(h) + payload + 8);
	pthread_mutex_unlock(&j->lock);
	free(buf);
	if (r == 0 && fdatasync(j->fd) < 0)
		r = -errno;
	return r;
}

static int mark(struct journal *j, uint32_t magic)
{
	unsigned char buf[sizeof(struct rec_head) + 8];

	return append_record(j, magic, 0, buf, 0);
}

int journal_mark_done(struct journal *j)
{
	return mark(j, REC_DONE);
}

int journal_mark_undone(struct journal *j)
{
	return mark(j, REC_UNDO);
}

void journal_close(struct journal *j)
{
	if (!j)
		return;
	close(j->fd);
	pthread_mutex_destroy(&j->lock);
	free(j);
}

/* ---- reading ---- */

static bool entry_at(const struct journal_loaded *jl, size_t off,
		     struct journal_entry *e)
{
	struct ent_head h;
	const unsigned char *p = jl->map + off;

	memcpy(&h, p, sizeof(h));
	e->dev = h.dev;
	e->ino = h.ino;
	e->uid = h.uid;
	e->gid = h.gid;
	e->mode = h.mode;
	e->acl_access_len = h.la_len;
	e->acl_default_len = h.ld_len;
	e->caps_len = h.caps_len;
	e->id_flags = h.id_flags;
	e->gen = h.gen;
	e->btime_sec = h.btime_sec;
	e->btime_nsec = h.btime_nsec;
	p += sizeof(h);
	e->acl_access = h.la_len ? p : NULL;
	p += h.la_len;
	e->acl_default = h.ld_len ? p : NULL;
	p += h.ld_len;
	e->caps = h.caps_len ? p : NULL;
	return true;
}

static size_t slot_of(uint64_t dev, uint64_t ino, size_t cap)
{
	uint64_t h =
		(dev * 0x9e3779b97f4a7c15ull) ^ (ino * 0xc2b2ae3d27d4eb4full);

	return (size_t)(h ^ (h >> 29)) & (cap - 1);
}

static int table_insert(struct journal_loaded *jl, size_t off)
{
	struct journal_entry e, o;
	size_t i;

	entry_at(jl, off, &e);
	i = slot_of(e.dev, e.ino, jl->cap);
	while (jl->slots[i]) {
		entry_at(jl, jl->slots[i] - 1, &o);
		if (o.dev == e.dev && o.ino == e.ino)
			return 0; /* the first record is the original */
		i = (i + 1) & (jl->cap - 1);
	}
	jl->slots[i] = off + 1;
	jl->nentries++;
	return 0;
}

bool journal_lookup(const struct journal_loaded *jl, uint64_t dev, uint64_t ino,
		    struct journal_entry *out)
{
	size_t i;

	if (!jl || !jl->cap)
		return false;
	i = slot_of(dev, ino, jl->cap);
	while (jl->slots[i]) {
		entry_at(jl, jl->slots[i] - 1, out);
		if (out->dev == dev && out->ino == ino)
			return true;
		i = (i + 1) & (jl->cap - 1);
	}
	return false;
}

static void after_at(const struct journal_loaded *jl, size_t off,
		     struct journal_after *a)
{
	struct after_head h;

	memcpy(&h, jl->map + off, sizeof(h));
	*a = (struct journal_after){h.dev,  h.ino,	  h.uid,      h.gid,
				    h.mode, h.ctime_nsec, h.ctime_sec};
}

/* A later APLD record of an inode replaces an earlier one (resume). */
static void after_insert(struct journal_loaded *jl, size_t off)
{
	struct journal_after a, o;
	size_t i;

	after_at(jl, off, &a);
	i = slot_of(a.dev, a.ino, jl->acap);
	while (jl->aslots[i]) {
		after_at(jl, jl->aslots[i] - 1, &o);
		if (o.dev == a.dev && o.ino == a.ino)
			break;
		i = (i + 1) & (jl->acap - 1);
	}
	jl->aslots[i] = off + 1;
}

bool journal_lookup_after(const struct journal_loaded *jl, uint64_t dev,
			  uint64_t ino, struct journal_after *out)
{
	size_t i;

	if (!jl || !jl->acap)
		return false;
	i = slot_of(dev, ino, jl->acap);
	while (jl->aslots[i]) {
		after_at(jl, jl->aslots[i] - 1, out);
		if (out->dev == dev && out->ino == ino)
			return true;
		i = (i + 1) & (jl->acap - 1);
	}
	return false;
}

/* Check a batch's entries fit in its payload. */
static bool batch_valid(const unsigned char *p, size_t len, uint32_t count)
{
	size_t off = 0;
	uint32_t i;

	for (i = 0; i < count; i++) {
		struct ent_head h;
		size_t n;

		if (len - off < sizeof(h))
			return false;
		memcpy(&h, p + off, sizeof(h));
		if (h.la_len > 65536 || h.ld_len > 65536 || h.caps_len > 65536)
			return false;
		n = pad8(sizeof(h) + h.la_len + h.ld_len + h.caps_len);
		if (n > len - off)
			return false;
		off += n;
	}
	return off == len;
}

/* Walk the records once: find valid_end, count entries, DONE/UNDN. */
static size_t scan_records(struct journal_loaded *jl, size_t hlen,
			   size_t *entries, size_t *afters)
{
	size_t off = hlen;

	*entries = *afters = 0;
	while (jl->size - off >= sizeof(struct rec_head) + 8) {
		struct rec_head h;
		uint32_t crc;

		memcpy(&h, jl->map + off, sizeof(h));
		if (h.len % 8 || h.len > jl->size - off - sizeof(h) - 8)
			break;
		memcpy(&crc, jl->map + off + sizeof(h) + h.len, 4);
		if (crc != crc32_update(0, jl->map + off, sizeof(h) + h.len))
			break;
		if (h.magic == REC_BATCH) {
			if (!batch_valid(jl->map + off + sizeof(h), h.len,
					 h.count))
				break;
			*entries += h.count;
		} else if (h.magic == REC_AFTER) {
			if (h.len !=
			    (uint64_t)h.count * sizeof(struct after_head))
				break;
			*afters += h.count;
		} else if (h.magic == REC_DONE) {
			jl->done = true;
		} else if (h.magic == REC_UNDO) {
			jl->undone = true;
		} else {
			break;
		}
		off += sizeof(h) + h.len + 8;
	}
	return off;
}

static int build_table(struct journal_loaded *jl, size_t hlen, size_t entries,
		       size_t afters)
{
	size_t off = hlen;

	jl->cap = 16;
	while (jl->cap < entries * 2)
		jl->cap *= 2;
	jl->slots = calloc(jl->cap, sizeof(*jl->slots));
	jl->acap = 16;
	while (jl->acap < afters * 2)
		jl->acap *= 2;
	jl->aslots = calloc(jl->acap, sizeof(*jl->aslots));
	if (!jl->slots || !jl->aslots)
		return -ENOMEM;
	while (off < jl->valid_end) {
		struct rec_head h;
		size_t p, i;

		memcpy(&h, jl->map + off, sizeof(h));
		p = off + sizeof(h);
		for (i = 0; h.magic == REC_BATCH && i < h.count; i++) {
			struct ent_head eh;

			memcpy(&eh, jl->map + p, sizeof(eh));
			table_insert(jl, p);
			p += pad8(sizeof(eh) + eh.la_len + eh.ld_len +
				  eh.caps_len);
		}
		for (i = 0; h.magic == REC_AFTER && i < h.count; i++)
			after_insert(jl, p + i * sizeof(struct after_head));
		off += sizeof(h) + h.len + 8;
	}
	return 0;
}

/*
 * Open path for reading, checked as journal_load() says: its directory
 * once (O_NOFOLLOW), the file relative to it (O_NOFOLLOW), both on their
 * fds. The fd (st filled), or -errno with the reason in err.
 */
static int open_checked(const char *path, struct stat *st, char *err,
			size_t errlen)
{
	char dir[PATH_MAX], base[NAME_MAX + 1];
	int fd, dfd, r;

	r = split_path(path, dir, base);
	if (r < 0) {
		snprintf(err, errlen, "%s", strerror(-r));
		return r;
	}
	/* Does it exist at all? (A clearer message than the directory's.) */
	if (fstatat(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW) < 0) {
		r = -errno;
		snprintf(err, errlen, "%s", strerror(-r));
		return r;
	}
	dfd = open_dir_checked(dir, O_PATH, err, errlen);
	if (dfd < 0)
		return dfd;
	fd = openat(dfd, base,
		    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	r = -errno;
	close(dfd);
	if (fd < 0) {
		snprintf(err, errlen, "%s",
			 r == -ELOOP ? "a symbolic link, not a journal"
				     : strerror(-r));
		return r;
	}
	r = check_file(fd, err, errlen);
	if (r == 0 && fstat(fd, st) < 0)
		r = -errno;
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

static int load(const char *path, struct journal_loaded *jl, bool table,
		char *err, size_t errlen)
{
	size_t hlen, entries, afters;
	struct stat st;
	int fd, r;

	memset(jl, 0, sizeof(*jl));
	jl->fd = -1;
	snprintf(jl->path, sizeof(jl->path), "%s", path);
	fd = open_checked(path, &st, err, errlen);
	if (fd < 0)
		return fd;
	if (st.st_size < 16) {
		close(fd);
		snprintf(err, errlen, "not a shiftctl journal");
		return -EINVAL;
	}
	jl->size = (size_t)st.st_size;
	jl->map = mmap(NULL, jl->size, PROT_READ, MAP_PRIVATE, fd, 0);
	r = -errno;
	jl->fd = fd;
	if (jl->map == MAP_FAILED) {
		jl->map = NULL;
		snprintf(err, errlen, "%s", strerror(-r));
		journal_unload(jl);
		return r;
	}
	r = header_decode(jl->map, jl->size, &jl->p, &jl->seq, &hlen);
	if (r < 0) {
		snprintf(err, errlen, "%s",
			 r == -EINVAL ? "not a shiftctl journal"
			 : r == -EPROTO
				 ? "written by an older shiftctl (journal "
				   "format 1, no inode identities): refusing "
				   "it, see shiftctl-chown(1)"
				 : "corrupt journal header");
		journal_unload(jl);
		return r;
	}
	jl->valid_end = scan_records(jl, hlen, &entries, &afters);
	if (table && build_table(jl, hlen, entries, afters) < 0) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		journal_unload(jl);
		return -ENOMEM;
	}
	return 0;
}

int journal_load(const char *path, struct journal_loaded *jl, char *err,
		 size_t errlen)
{
	return load(path, jl, true, err, errlen);
}

void journal_unload(struct journal_loaded *jl)
{
	if (jl->map)
		munmap((void *)jl->map, jl->size);
	free(jl->slots);
	free(jl->aslots);
	if (jl->fd >= 0)
		close(jl->fd);
	jl->fd = -1;
	jl->map = NULL;
	jl->slots = NULL;
	jl->aslots = NULL;
	jl->cap = jl->acap = 0;
}

/* Is journal a (seq, mtime, name) newer than b? */
static bool newer(uint64_t sa, const struct stat *a, const char *na,
		  uint64_t sb, const struct stat *b, const char *nb)
{
	if (sa != sb)
		return sa > sb;
	if (a->st_mtim.tv_sec != b->st_mtim.tv_sec)
		return a->st_mtim.tv_sec > b->st_mtim.tv_sec;
	if (a->st_mtim.tv_nsec != b->st_mtim.tv_nsec)
		return a->st_mtim.tv_nsec > b->st_mtim.tv_nsec;
	return strcmp(na, nb) > 0;
}

int journal_find(const char *dir, uint32_t verb, uint64_t dev, uint64_t ino,
		 bool unfinished, char *out, size_t len)
{
	struct journal_loaded *jl = malloc(sizeof(*jl));
	char path[PATH_MAX], err[128], best_name[NAME_MAX + 1] = "";
	char undone_path[PATH_MAX] = "", undone_name[NAME_MAX + 1] = "";
	struct stat best_st = {0}, undone_st = {0};
	uint64_t best_seq = 0, undone_seq = 0;
	bool found = false, found_undone = false;
	struct dirent *de;
	DIR *d;

	if (!jl)
		return -ENOMEM;
	d = opendir(dir);
	if (!d) {
		free(jl);
		return -errno;
	}
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		struct stat st;

		if (n < 9 || strcmp(de->d_name + n - 8, ".journal"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (load(path, jl, false, err, sizeof(err)) < 0)
			continue;
		if (jl->p.root_dev != dev || jl->p.root_ino != ino ||
		    (verb && jl->p.verb != verb)) {
			journal_unload(jl);
			continue;
		}
		if (jl->undone || (unfinished && jl->done)) {
			if (jl->undone &&
			    (!found_undone ||
			     newer(jl->seq, &st, de->d_name, undone_seq,
				   &undone_st, undone_name))) {
				found_undone = true;
				undone_seq = jl->seq;
				undone_st = st;
				snprintf(undone_name, sizeof(undone_name), "%s",
					 de->d_name);
				snprintf(undone_path, sizeof(undone_path), "%s",
					 path);
			}
		} else if (!found || newer(jl->seq, &st, de->d_name, best_seq,
					   &best_st, best_name)) {
			found = true;
			best_seq = jl->seq;
			best_st = st;
			snprintf(best_name, sizeof(best_name), "%s",
				 de->d_name);
			snprintf(out, len, "%s", path);
		}
		journal_unload(jl);
	}
	closedir(d);
	free(jl);
	if (found)
		return 0;
	if (found_undone && !unfinished) {
		snprintf(out, len, "%s", undone_path);
		return -EALREADY;
	}
	return -ENOENT;
}
