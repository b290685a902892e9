/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fd-relative, multi-threaded tree walk of walk.h. Work items are
 * (parent directory, name) pairs on a shared LIFO stack, so the number of
 * open directory fds stays near depth x threads; each worker reads with its
 * own 1 MiB getdents64 buffer.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "progress.h"
#include "shiftctl.h"
#include "walk.h"

#define GETDENTS_BUF (1u << 20)
#define STATX_WANT (STATX_BASIC_STATS | STATX_MNT_ID | STATX_BTIME)
/* "has links outside PATH" lines printed at most (all are counted). */
#define WALK_REPORT_LINKS 20

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

struct work_item {
	struct walk_dir *parent;
	char *name;
	uint64_t ino;
};

struct seen_set {
	pthread_mutex_t lock;
	uint64_t (*keys)[2];
	size_t cap, n;
	bool no_fresh_on_enomem;
};

/*
 * links_inside: one record per non-directory seen with nlink > 1 (the
 * only inodes tracked, as for visit-once), and one key per distinct name
 * of it seen (parent directory inode, name, epoch) in names. A record's
 * epoch moves when its ctime or link count differs between sightings (a
 * link added, removed or renamed: the names counted before may be stale).
 */
enum { LINK_PENDING, LINK_VISITED };

struct link_rec {
	uint64_t dev, ino;
	int64_t ctime_sec;
	uint32_t ctime_nsec, nlink, count, epoch;
	uint8_t state;
	char *path; /* first name seen, for messages (pending only) */
};

struct link_table {
	pthread_mutex_t lock;
	struct link_rec *r;
	size_t cap, n;
	struct seen_set names;
};

struct walk_priv {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct work_item *stack;
	size_t n, cap;
	int busy;
	struct seen_set seen;
	struct link_table links;
};

uint64_t walk_stx_mnt_id(const struct statx *stx)
{
	if (!(stx->stx_mask & STATX_MNT_ID))
		return 0;
	return stx->stx_mnt_id;
}

uint64_t walk_stx_dev(const struct statx *stx)
{
	return makedev(stx->stx_dev_major, stx->stx_dev_minor);
}

struct walk_dir *walk_dir_ref(struct walk_dir *d)
{
	atomic_fetch_add(&d->ref, 1);
	return d;
}

void walk_dir_unref(struct walk_dir *d)
{
	if (!d || atomic_fetch_sub(&d->ref, 1) != 1)
		return;
	if (d->fd >= 0)
		close(d->fd);
	free(d->path);
	free(d);
}

static struct walk_dir *dir_new(int fd, const char *parent_path,
				const char *name, const struct statx *stx)
{
	struct walk_dir *d = calloc(1, sizeof(*d));
	int r;

	if (!d)
		return NULL;
	if (name)
		r = asprintf(&d->path, "%s%s%s", parent_path,
			     parent_path[strlen(parent_path) - 1] == '/' ? ""
									 : "/",
			     name);
	else
		r = asprintf(&d->path, "%s", parent_path);
	if (r < 0) {
		free(d);
		return NULL;
	}
	d->fd = fd;
	d->dev = walk_stx_dev(stx);
	d->mnt_id = walk_stx_mnt_id(stx);
	d->ino = stx->stx_ino;
	atomic_init(&d->ref, 1);
	return d;
}

#ifndef SHIFT_TEST_HOOKS
/* Release builds: no environment variable can make root's run stop early. */
void walk_test_step(void)
{
}
#else
void walk_test_step(void)
{
	static atomic_llong left = -2;
	long long v = atomic_load(&left);

	if (v == -2) {
		const char *s = getenv("SHIFTCTL_TEST_KILL_AFTER");
		long long n = s ? atoll(s) : -1;
		long long expected = -2;

		atomic_compare_exchange_strong(&left, &expected,
					       n > 0 ? n : -1);
		v = atomic_load(&left);
	}
	if (v == -1)
		return;
	if (atomic_fetch_sub(&left, 1) <= 1) {
		raise(SIGKILL);
		pause();
	}
}
#endif

/* ---- escaping ---- */

static size_t utf8_seq_len(const unsigned char *s)
{
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

void walk_escape(const char *path, char *buf, size_t len)
{
	const unsigned char *s = (const unsigned char *)path;
	size_t o = 0, n;

	if (!len)
		return;
	while (*s && o + 5 < len) {
		if (*s == '\\') {
			buf[o++] = '\\';
			buf[o++] = '\\';
			s++;
		} else if (*s == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
			s++;
		} else if (*s < 0x20 || *s == 0x7f ||
			   (n = utf8_seq_len(s)) == 0) {
			o += snprintf(buf + o, len - o, "\\x%02x", *s);
			s++;
		} else {
			if (o + n >= len)
				break;
			memcpy(buf + o, s, n);
			o += n;
			s += n;
		}
	}
	buf[o] = '\0';
}

void walk_entry_path(const struct walk_entry *e, char *buf, size_t len)
{
	char raw[PATH_MAX * 2];

	if (e->is_root)
		snprintf(raw, sizeof(raw), "%s", e->dir->path);
	else
		snprintf(raw, sizeof(raw), "%s/%s", e->dir->path, e->name);
	walk_escape(raw, buf, len);
}

/* Count an error; past WALK_MAX_ERRORS, stop (a wrong setup, not bad luck). */
static void count_error(struct walk *w)
{
	if (atomic_fetch_add(&w->errors, 1) + 1 == WALK_MAX_ERRORS) {
		/* engine output: the walk gives up */
		fprintf(stderr, "%s: %d errors: stopping\n", program_name,
			WALK_MAX_ERRORS);
		atomic_store(&w->stop, true);
	}
}

void walk_error(struct walk *w, const struct walk_entry *e, const char *what,
		int err)
{
	char p[PATH_MAX * 2];

	walk_entry_path(e, p, sizeof(p));
	/* engine output: errors name the path (stderr) */
	progress_clear();
	fprintf(stderr, "%s: %s: %s: %s\n", program_name, p, what,
		strerror(err));
	count_error(w);
}

void walk_error_msg(struct walk *w, const struct walk_entry *e, const char *msg)
{
	char p[PATH_MAX * 2];

	walk_entry_path(e, p, sizeof(p));
	/* engine output: errors name the path (stderr) */
	progress_clear();
	fprintf(stderr, "%s: %s: %s\n", program_name, p, msg);
	count_error(w);
}

static void dir_error(struct walk *w, const char *parent, const char *name,
		      const char *what, int err)
{
	char raw[PATH_MAX * 2], p[PATH_MAX * 2];

	snprintf(raw, sizeof(raw), "%s/%s", parent, name);
	walk_escape(raw, p, sizeof(p));
	/* engine output: errors name the path (stderr) */
	progress_clear();
	fprintf(stderr, "%s: %s: %s: %s\n", program_name, p, what,
		strerror(err));
	count_error(w);
}

/* ---- filesystems ---- */

const char *walk_fs_refusal(int fd)
{
	static const struct {
		unsigned long magic;
		const char *name;
	} pseudo[] = {
		{PROC_SUPER_MAGIC, "proc"},
		{SYSFS_MAGIC, "sysfs"},
		{DEVPTS_SUPER_MAGIC, "devpts"},
		{CGROUP_SUPER_MAGIC, "cgroup"},
		{CGROUP2_SUPER_MAGIC, "cgroup2"},
		{DEBUGFS_MAGIC, "debugfs"},
		{TRACEFS_MAGIC, "tracefs"},
		{SECURITYFS_MAGIC, "securityfs"},
		{BPF_FS_MAGIC, "bpf"},
		{PSTOREFS_MAGIC, "pstore"},
		{EFIVARFS_MAGIC, "efivarfs"},
		{SELINUX_MAGIC, "selinuxfs"},
		{SMACK_MAGIC, "smackfs"},
		{NSFS_MAGIC, "nsfs"},
		{0x19800202, "mqueue"},
		{0x62656570, "configfs"},
		{0x42494e4d, "binfmt_misc"},
		{0x73636673, "fusectl"},
		{0x6e736673, "nsfs"},
	};
	struct statfs sf;
	struct statvfs sv;
	size_t i;

	if (fstatfs(fd, &sf) == 0)
		for (i = 0; i < sizeof(pseudo) / sizeof(pseudo[0]); i++)
			if ((unsigned long)sf.f_type == pseudo[i].magic)
				return pseudo[i].name;
	if (fstatvfs(fd, &sv) == 0 && (sv.f_flag & ST_RDONLY))
		return "read-only";
	return NULL;
}

/* ---- hard links ---- */

static bool seen_insert(struct seen_set *s, uint64_t dev, uint64_t ino)
{
	size_t i, mask;
	bool fresh = true;

	pthread_mutex_lock(&s->lock);
	if ((s->n + 1) * 2 > s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 1024, j;
		uint64_t(*nk)[2] = calloc(ncap, sizeof(*nk));

		if (!nk) {
			pthread_mutex_unlock(&s->lock);
			/* Worst case: an inode visited twice; a name of a
			 * linked inode not counted (it is left alone). */
			return !s->no_fresh_on_enomem;
		}
		for (j = 0; j < s->cap; j++) {
			if (!s->keys[j][1])
				continue;
			i = (s->keys[j][0] * 31 + s->keys[j][1]) & (ncap - 1);
			while (nk[i][1])
				i = (i + 1) & (ncap - 1);
			nk[i][0] = s->keys[j][0];
			nk[i][1] = s->keys[j][1];
		}
		free(s->keys);
		s->keys = nk;
		s->cap = ncap;
	}
	mask = s->cap - 1;
	i = (dev * 31 + ino) & mask;
	while (s->keys[i][1]) {
		if (s->keys[i][0] == dev && s->keys[i][1] == ino) {
			fresh = false;
			break;
		}
		i = (i + 1) & mask;
	}
	if (fresh) {
		s->keys[i][0] = dev;
		s->keys[i][1] = ino ? ino : 1;
		s->n++;
	}
	pthread_mutex_unlock(&s->lock);
	return fresh;
}

/* ---- links: all of them inside the tree? ---- */

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	h *= 0xff51afd7ed558ccdULL;
	return h ^ (h >> 33);
}

/* A key of one name of an inode. Two names that collide count once: a
 * collision can only make a tree's link count fall short (the inode is
 * then left alone), never reach an outside link. */
static void name_key(const struct link_rec *l, uint64_t dir_ino,
		     const char *name, uint64_t k[2])
{
	uint64_t h = 0xcbf29ce484222325ULL;
	const unsigned char *c;

	for (c = (const unsigned char *)name; *c; c++)
		h = (h ^ *c) * 0x100000001b3ULL;
	k[0] = mix(mix(l->dev, l->ino), l->epoch);
	k[1] = mix(mix(dir_ino, h), strlen(name)) | 1;
}

static struct link_rec *link_find(struct link_table *t, uint64_t dev,
				  uint64_t ino)
{
	size_t i, j, mask;

	if ((t->n + 1) * 2 > t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 1024;
		struct link_rec *nr = calloc(ncap, sizeof(*nr));

		if (!nr)
			return NULL;
		for (j = 0; j < t->cap; j++) {
			if (!t->r[j].ino && !t->r[j].dev)
				continue;
			i = mix(t->r[j].dev, t->r[j].ino) & (ncap - 1);
			while (nr[i].ino || nr[i].dev)
				i = (i + 1) & (ncap - 1);
			nr[i] = t->r[j];
		}
		free(t->r);
		t->r = nr;
		t->cap = ncap;
	}
	mask = t->cap - 1;
	i = mix(dev, ino) & mask;
	while (t->r[i].ino || t->r[i].dev) {
		if (t->r[i].dev == dev && t->r[i].ino == ino)
			return &t->r[i];
		i = (i + 1) & mask;
	}
	t->r[i] = (struct link_rec){.dev = dev, .ino = ino ? ino : 1,
				    .nlink = 0};
	t->n++;
	return &t->r[i];
}

/*
 * One sighting of a linked non-directory as name in d: 1 when it is to be
 * visited now (all its links seen), 0 when not (yet, or already visited),
 * -ENOMEM.
 */
static int link_sighting(struct walk *w, struct walk_dir *d, const char *name,
			 const struct statx *stx)
{
	struct link_table *t = &w->priv->links;
	struct link_rec *l;
	uint64_t k[2];
	int r = 0;

	pthread_mutex_lock(&t->lock);
	l = link_find(t, walk_stx_dev(stx), stx->stx_ino);
	if (!l) {
		pthread_mutex_unlock(&t->lock);
		return -ENOMEM;
	}
	if (l->state == LINK_VISITED) {
		pthread_mutex_unlock(&t->lock);
		atomic_fetch_add(&w->hardlinks, 1);
		return 0;
	}
	if (!l->nlink) { /* first sighting */
		if (asprintf(&l->path, "%s%s%s", d->path,
			     d->path[strlen(d->path) - 1] == '/' ? "" : "/",
			     name) < 0)
			l->path = NULL;
	} else if (l->ctime_sec != stx->stx_ctime.tv_sec ||
		   l->ctime_nsec != stx->stx_ctime.tv_nsec ||
		   l->nlink != stx->stx_nlink) {
		/* Changed between sightings: count its names afresh. */
		l->epoch++;
		l->count = 0;
	}
	l->ctime_sec = stx->stx_ctime.tv_sec;
	l->ctime_nsec = stx->stx_ctime.tv_nsec;
	l->nlink = stx->stx_nlink;
	name_key(l, d->ino, name, k);
	if (seen_insert(&t->names, k[0], k[1]))
		l->count++;
	if (l->count >= l->nlink) {
		l->state = LINK_VISITED;
		atomic_fetch_add(&w->hardlinks, l->count - 1);
		free(l->path);
		l->path = NULL;
		r = 1;
	}
	pthread_mutex_unlock(&t->lock);
	return r;
}

/* After the walk: the linked inodes not all of whose links were seen. */
static void links_left(struct walk *w)
{
	struct link_table *t = &w->priv->links;
	char p[PATH_MAX * 2], msg[128];
	size_t i;

	for (i = 0; i < t->cap; i++) {
		struct link_rec *l = &t->r[i];

		if ((!l->ino && !l->dev) || l->state != LINK_PENDING)
			continue;
		if (l->epoch) {
			/* Its links changed during the walk: an error, so
			 * that --resume looks again. */
			walk_escape(l->path ? l->path : "?", p, sizeof(p));
			progress_clear();
			/* engine output: errors name the path (stderr) */
			fprintf(stderr,
				"%s: %s: its links changed during the walk: "
				"left as it is\n",
				program_name, p);
			count_error(w);
		} else {
			if (atomic_fetch_add(&w->links_outside, 1) <
			    WALK_REPORT_LINKS) {
				walk_escape(l->path ? l->path : "?", p,
					    sizeof(p));
				snprintf(msg, sizeof(msg),
					 "has %u links, %u of them outside "
					 "PATH: left as it is",
					 l->nlink, l->nlink - l->count);
				progress_clear();
				/* engine output: the inode left (stderr) */
				fprintf(stderr, "%s: %s: %s\n", program_name,
					p, msg);
			}
			atomic_fetch_add(&w->hardlinks, l->count - 1);
		}
		free(l->path);
		l->path = NULL;
	}
	free(t->r);
	free(t->names.keys);
}

/* ---- work stack ---- */

static int push(struct walk *w, struct walk_dir *parent, const char *name,
		uint64_t ino)
{
	struct walk_priv *p = w->priv;
	char *n = strdup(name);

	if (!n)
		return -ENOMEM;
	pthread_mutex_lock(&p->lock);
	if (p->n == p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : 256;
		struct work_item *ns = realloc(p->stack, ncap * sizeof(*ns));

		if (!ns) {
			pthread_mutex_unlock(&p->lock);
			free(n);
			return -ENOMEM;
		}
		p->stack = ns;
		p->cap = ncap;
	}
	p->stack[p->n++] = (struct work_item){walk_dir_ref(parent), n, ino};
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

static bool is_other_mount(const struct walk_dir *d, const struct statx *stx)
{
	uint64_t mnt = walk_stx_mnt_id(stx);

	if (walk_stx_dev(stx) != d->dev)
		return true;
	if ((stx->stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
	    (stx->stx_attributes & STATX_ATTR_MOUNT_ROOT))
		return true;
	return mnt && d->mnt_id && mnt != d->mnt_id;
}

static void note_mount(struct walk *w, const char *parent, const char *name,
		       const char *why)
{
	char raw[PATH_MAX * 2], p[PATH_MAX * 2];

	atomic_fetch_add(&w->mounts_skipped, 1);
	if (w->quiet)
		return;
	snprintf(raw, sizeof(raw), "%s/%s", parent, name);
	walk_escape(raw, p, sizeof(p));
	/* engine output: errors name the path (stderr) */
	progress_clear();
	fprintf(stderr, "%s: %s: %s, not entered\n", program_name, p, why);
}

/* Look at one directory entry: visit it, queue it if it is a directory. */
static void do_entry(struct walk *w, void *ctx, struct walk_dir *d,
		     const char *name)
{
	struct walk_entry e = {.dir = d, .dfd = d->fd, .name = name};
	bool linked;

	if (statx(d->fd, name, AT_SYMLINK_NOFOLLOW, STATX_WANT, &e.stx) < 0) {
		if (errno != ENOENT)
			dir_error(w, d->path, name, "statx", errno);
		return;
	}
	if (is_other_mount(d, &e.stx)) {
		const char *why;
		char msg[64];
		int fd;

		if (!w->cross_mounts) {
			note_mount(w, d->path, name,
				   "mount point (use --cross-mounts to enter)");
			return;
		}
		/* Not even the root inode of a read-only or pseudo fs. */
		fd = openat(d->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		why = fd >= 0 ? walk_fs_refusal(fd) : NULL;
		if (fd >= 0)
			close(fd);
		if (why) {
			snprintf(msg, sizeof(msg), "%s filesystem", why);
			note_mount(w, d->path, name, msg);
			return;
		}
	}
	linked = !S_ISDIR(e.stx.stx_mode) && e.stx.stx_nlink > 1;
	if (linked && w->links_inside) {
		int v = link_sighting(w, d, name, &e.stx);

		if (v < 0) {
			dir_error(w, d->path, name, "links", ENOMEM);
			atomic_store(&w->stop, true);
		}
		if (v <= 0)
			return;
		linked = false; /* counted: the seen set below only when
				 * every inode is seen once */
	}
	/* Hard links; across mounts also bind mounts that show the same
	 * inodes (directories included) twice. */
	if ((w->cross_mounts || w->visit_once || linked) &&
	    !seen_insert(&w->priv->seen, walk_stx_dev(&e.stx), e.stx.stx_ino)) {
		atomic_fetch_add(&w->hardlinks, 1);
		return;
	}
	atomic_fetch_add(&w->visited, 1);
	w->ops.visit(ctx, &e);
	if (S_ISDIR(e.stx.stx_mode) && push(w, d, name, e.stx.stx_ino) < 0) {
		dir_error(w, d->path, name, "queue", ENOMEM);
		atomic_store(&w->stop, true);
	}
}

static void read_dir(struct walk *w, void *ctx, struct walk_dir *d, char *buf)
{
	long n;

	while (!atomic_load(&w->stop) &&
	       (n = syscall(SYS_getdents64, d->fd, buf, GETDENTS_BUF)) > 0) {
		long off = 0;

		while (off < n && !atomic_load(&w->stop)) {
			struct linux_dirent64 *de = (void *)(buf + off);
			const char *nm = de->d_name;

			off += de->d_reclen;
			if (nm[0] == '.' &&
			    (!nm[1] || (nm[1] == '.' && !nm[2])))
				continue;
			do_entry(w, ctx, d, nm);
		}
		/* engine output: the progress display (progress.h) */
		progress_update(atomic_load(&w->visited));
	}
	if (n < 0)
		dir_error(w, d->path, "", "getdents", errno);
}

/* Open a queued directory, checking it is still the one we saw. */
static struct walk_dir *open_item(struct walk *w, struct work_item *it)
{
	struct walk_dir *p = it->parent, *d;
	struct statx stx;
	const char *why;
	int fd;

	fd = openat(p->fd, it->name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			dir_error(w, p->path, it->name, "open", errno);
		return NULL;
	}
	if (statx(fd, "", AT_EMPTY_PATH, STATX_WANT, &stx) < 0 ||
	    stx.stx_ino != it->ino) {
		dir_error(w, p->path, it->name, "changed during the walk",
			  ESTALE);
		close(fd);
		return NULL;
	}
	if (is_other_mount(p, &stx) && (why = walk_fs_refusal(fd))) {
		char msg[64];

		snprintf(msg, sizeof(msg), "%s filesystem", why);
		note_mount(w, p->path, it->name, msg);
		close(fd);
		return NULL;
	}
	d = dir_new(fd, p->path, it->name, &stx);
	if (!d)
		close(fd);
	return d;
}

struct worker_arg {
	struct walk *w;
	void *ctx;
};

static void *worker(void *arg)
{
	struct worker_arg *a = arg;
	struct walk *w = a->w;
	struct walk_priv *p = w->priv;
	char *buf = malloc(GETDENTS_BUF);

	if (!buf) {
		atomic_store(&w->stop, true);
		pthread_mutex_lock(&p->lock);
		pthread_cond_broadcast(&p->cond);
		pthread_mutex_unlock(&p->lock);
		return NULL;
	}
	for (;;) {
		struct work_item it;
		struct walk_dir *d;

		pthread_mutex_lock(&p->lock);
		while (p->n == 0 && p->busy > 0 && !atomic_load(&w->stop))
			pthread_cond_wait(&p->cond, &p->lock);
		if (p->n == 0 || atomic_load(&w->stop)) {
			pthread_cond_broadcast(&p->cond);
			pthread_mutex_unlock(&p->lock);
			break;
		}
		it = p->stack[--p->n];
		p->busy++;
		pthread_mutex_unlock(&p->lock);

		d = it.name ? open_item(w, &it) : walk_dir_ref(it.parent);
		walk_dir_unref(it.parent);
		free(it.name);
		if (d) {
			read_dir(w, a->ctx, d, buf);
			walk_dir_unref(d);
		}

		pthread_mutex_lock(&p->lock);
		p->busy--;
		if (p->n == 0 && p->busy == 0)
			pthread_cond_broadcast(&p->cond);
		pthread_mutex_unlock(&p->lock);
	}
	free(buf);
	w->ops.flush(a->ctx);
	return NULL;
}

static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int walk_children(struct walk *w, struct walk_dir *root)
{
	struct worker_arg args[WALK_MAX_THREADS];
	pthread_t th[WALK_MAX_THREADS];
	struct walk_priv *p = w->priv;
	int i, started = 0;

	/* The root's own listing is the first work item (name NULL). */
	p->stack = malloc(256 * sizeof(*p->stack));
	if (!p->stack)
		return -ENOMEM;
	p->cap = 256;
	p->stack[p->n++] = (struct work_item){walk_dir_ref(root), NULL, 0};
	for (i = 0; i < w->nthreads; i++) {
		args[i] = (struct worker_arg){w, w->ctx[i]};
		if (pthread_create(&th[i], NULL, worker, &args[i]) != 0)
			break;
		started++;
	}
	if (!started) {
		worker(&args[0]);
	}
	for (i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	/* Contexts of threads that failed to start still get flushed. */
	for (i = started ? started : 1; i < w->nthreads; i++)
		w->ops.flush(w->ctx[i]);
	while (p->n) {
		p->n--;
		walk_dir_unref(p->stack[p->n].parent);
		free(p->stack[p->n].name);
	}
	free(p->stack);
	return 0;
}

int walk_run(struct walk *w, int root_fd, const struct statx *root_stx)
{
	struct walk_priv priv = {0};
	struct walk_dir *root;
	struct walk_entry e;
	bool skip_root = false;
	int r = 0;

	if (w->nthreads < 1 || w->nthreads > WALK_MAX_THREADS)
		return -EINVAL;
	raise_nofile();
	pthread_mutex_init(&priv.lock, NULL);
	pthread_cond_init(&priv.cond, NULL);
	pthread_mutex_init(&priv.seen.lock, NULL);
	pthread_mutex_init(&priv.links.lock, NULL);
	pthread_mutex_init(&priv.links.names.lock, NULL);
	priv.links.names.no_fresh_on_enomem = true;
	w->priv = &priv;
	root = dir_new(root_fd, w->root_path, NULL, root_stx);
	if (!root)
		return -ENOMEM;
	if (S_ISDIR(root_stx->stx_mode)) {
		r = walk_children(w, root);
	} else if (w->links_inside && root_stx->stx_nlink > 1) {
		/* One file with links: PATH holds only one of them. */
		atomic_fetch_add(&w->links_outside, 1);
		/* engine output: the inode left (stderr) */
		fprintf(stderr, "%s: %s: has %u links, %u of them outside "
			"PATH: left as it is\n", program_name, w->root_path,
			(unsigned)root_stx->stx_nlink,
			(unsigned)root_stx->stx_nlink - 1);
		skip_root = true;
	}
	links_left(w);
	if (r == 0 && !skip_root && !atomic_load(&w->stop)) {
		/* The root last: a correct root means a finished tree. */
		e = (struct walk_entry){.dir = root,
					.dfd = root_fd,
					.name = "",
					.at_empty = AT_EMPTY_PATH,
					.is_root = true};
		if (statx(root_fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW,
			  STATX_WANT, &e.stx) < 0) {
			walk_error(w, &e, "statx", errno);
		} else {
			atomic_fetch_add(&w->visited, 1);
			w->ops.visit(w->ctx[0], &e);
			w->ops.flush(w->ctx[0]);
		}
	}
	/* engine output: the progress display (progress.h) */
	progress_update(atomic_load(&w->visited));
	root->fd = -1; /* the caller owns root_fd */
	walk_dir_unref(root);
	free(priv.seen.keys);
	pthread_mutex_destroy(&priv.lock);
	pthread_cond_destroy(&priv.cond);
	pthread_mutex_destroy(&priv.seen.lock);
	pthread_mutex_destroy(&priv.links.lock);
	pthread_mutex_destroy(&priv.links.names.lock);
	w->priv = NULL;
	return r;
}
