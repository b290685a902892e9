/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * In-place ownership rewrite (rewrite.h). Per inode, after systemd's
 * nspawn-patch-uid.c patch_fd(): fchownat(AT_SYMLINK_NOFOLLOW), then put
 * back the file capability (root id moved with the owner) and the
 * setuid/setgid bits the chown cleared, and shift named ACL entries with
 * libacl (copying the ACL only when an entry changes, default ACLs of
 * directories too). Modes, timestamps and other xattrs are not touched.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/acl.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>
#include <acl/libacl.h>
#include <linux/capability.h>
#include <linux/posix_acl.h>

#include "acl_xattr.h"
#include "fcaps_xattr.h"
#include "parse_int.h"
#include "progress.h"
#include "rewrite.h"
#include "shiftctl.h"
#include "syspath.h"
#include "walk.h"

/* <linux/fs.h> clashes with <sys/xattr.h>; the kernel writes an int. */
#ifndef FS_IOC_GETVERSION
#define FS_IOC_GETVERSION _IOR('v', 1, long)
#endif

#define BATCH_MAX 32768
#define BATCH_DIRS 512
#define REPORT_MAX 20

#if defined(__x86_64__) || defined(__aarch64__)
#define NR_LISTXATTRAT 465 /* Linux 6.13 */
#endif

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
	char data[]; /* name, then the blobs */
};

struct pair_count {
	uint32_t ou, og, nu, ng;
	uint64_t n;
};

struct counters {
	uint64_t changed, correct, unmappable, other_owner, acl_changed,
		caps_restored, setid_restored, matched, skipped_changed;
};

struct run;

struct ctx {
	struct run *run;
	struct pending **batch;
	size_t n, ndirs;
	struct walk_dir *last_dir;
	struct counters c;
	struct pair_count *pairs;
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

/* ---- small helpers ---- */

static void loc_of(const struct walk_entry *e, struct loc *l)
{
	*l = (struct loc){e->dir, e->dfd, e->name, e->at_empty, e->stx.stx_ino};
}

static void loc_path(const struct loc *l, char *buf, size_t len)
{
	struct walk_entry e = {
		.dir = l->dir, .name = l->name, .is_root = l->at_empty != 0};

	walk_entry_path(&e, buf, len);
}

static void loc_error(struct run *r, const struct loc *l, const char *what,
		      int err)
{
	struct walk_entry e = {
		.dir = l->dir, .name = l->name, .is_root = l->at_empty != 0};

	walk_error(&r->w, &e, what, err);
}

/* An O_PATH fd of the inode itself, checked to be the one we saw, not
 * renamed or changed since (ctime): so the xattr names listed by name
 * before were its own. */
static int loc_open(const struct loc *l, const struct statx *seen)
{
	struct statx st;
	int fd;

	if (l->at_empty)
		fd = fcntl(l->dfd, F_DUPFD_CLOEXEC, 3);
	else
		fd = openat(l->dfd, l->name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
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

static void proc_fd(int fd, char *buf, size_t len)
{
	snprintf(buf, len, "/proc/self/fd/%d", fd);
}

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

static void target_close(struct target *t)
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
static int target_open(const struct loc *l, uint64_t dev, uint64_t ino,
		       bool want_gen, struct target *t)
{
	int fd, rr;

	t->fd = -1;
	t->has_gen = false;
	if (l->at_empty)
		fd = fcntl(l->dfd, F_DUPFD_CLOEXEC, 3);
	else
		fd = openat(l->dfd, l->name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
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
static bool target_is(const struct target *t, const struct journal_entry *e)
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

/* An inode whose restored metadata grants privilege: undo and resume
 * want proof that nobody changed it since the run. */
static bool privileged(const struct journal_entry *e)
{
	return (S_ISREG(e->mode) && (e->mode & (S_ISUID | S_ISGID))) ||
	       e->caps_len;
}

static bool same_ctime(const struct statx *s, int64_t sec, uint32_t nsec)
{
	return s->stx_ctime.tv_sec == sec && s->stx_ctime.tv_nsec == nsec;
}

/* Names of the xattrs on an inode (never following a symlink). */
static ssize_t loc_listxattr(const struct loc *l, char *buf, size_t size)
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

static bool list_has(const char *list, ssize_t n, const char *name)
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
static int fd_getxattr(int fd, const char *name, void **val, uint32_t *len)
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

static int fd_setxattr(int fd, const char *name, const void *val, size_t len)
{
	char p[64];

	proc_fd(fd, p, sizeof(p));
	walk_test_step();
	return setxattr(p, name, val, len, 0) < 0 ? -errno : 0;
}

static bool same_blob(const void *a, uint32_t alen, const void *b,
		      uint32_t blen)
{
	return alen == blen && (!alen || !memcmp(a, b, alen));
}

/* ---- the id function of a run ---- */

/* The new id for x (uid or gid) of an inode whose original owner is orig.
 * Returns false when x has no image (shift only): x stays. */
static bool map_id(const struct run *r, const struct journal_entry *orig,
		   bool is_uid, uint32_t x, uint32_t *y)
{
	const struct journal_params *p = &r->o->p;

	*y = x;
	if (p->verb == JOURNAL_SHIFT)
		return idmap_translate(is_uid ? &p->maps.uid : &p->maps.gid,
				       !(p->flags & JF_REVERSE), x, y) == 0;
	/* chown: the inode's own owner moves to the target, nothing else. */
	if (is_uid && x == orig->uid)
		*y = p->uid;
	else if (!is_uid && x == orig->gid && (p->flags & JF_SET_GID))
		*y = p->gid;
	return true;
}

/* The owner a journalled or fresh inode must end up with. */
static void final_owner(struct run *r, const struct journal_entry *orig,
			uint32_t *u, uint32_t *g, int *unmappable)
{
	*unmappable = 0;
	if (!map_id(r, orig, true, orig->uid, u))
		(*unmappable)++;
	if (!map_id(r, orig, false, orig->gid, g))
		(*unmappable)++;
}

/* Would the ACL blob change? (-1: malformed) Counts unmappable entries. */
static int acl_blob_changes(struct run *r, const struct journal_entry *orig,
			    const void *blob, uint32_t len, int *unmappable)
{
	struct acl_xattr_entry e[64], *ents = e;
	int n, i, changes = 0;
	uint32_t y;

	n = acl_xattr_count(blob, len);
	if (n < 0)
		return -1;
	if (n > 64 && !(ents = malloc((size_t)n * sizeof(*ents))))
		return -1;
	n = acl_xattr_decode(blob, len, ents, (size_t)n);
	for (i = 0; i < n; i++) {
		bool u = ents[i].tag == ACL_USER;

		if (!u && ents[i].tag != ACL_GROUP)
			continue;
		if (!map_id(r, orig, u, ents[i].id, &y))
			(*unmappable)++;
		else if (y != ents[i].id)
			changes++;
	}
	if (ents != e)
		free(ents);
	return n < 0 ? -1 : changes > 0;
}

/* The new qualifier of a named ACL entry; false when it stays. */
static bool entry_moves(struct run *r, const struct journal_entry *orig,
			acl_entry_t ent, uint32_t *nq)
{
	acl_tag_t tag;
	uint32_t *q;
	bool moves;

	if (acl_get_tag_type(ent, &tag) < 0 ||
	    (tag != ACL_USER && tag != ACL_GROUP))
		return false;
	q = acl_get_qualifier(ent);
	if (!q)
		return false;
	moves = map_id(r, orig, tag == ACL_USER, *q, nq) && *nq != *q;
	acl_free(q);
	return moves;
}

/* Shift the named entries of one ACL with libacl, as systemd shift_acl()
 * does: build a new ACL only when an entry changes (entries copied one by
 * one, qualifiers replaced; libacl keeps them sorted as the kernel wants).
 * Returns 1 changed, 0, -errno. */
static int shift_acl(struct run *r, const struct journal_entry *orig, int fd,
		     acl_type_t type)
{
	acl_t acl, copy = NULL;
	acl_entry_t ent, ne;
	char p[64];
	int id, rr = 0, n = 0;
	bool change = false;
	uint32_t nq;

	proc_fd(fd, p, sizeof(p));
	acl = acl_get_file(p, type);
	if (!acl)
		return -errno;
	for (id = ACL_FIRST_ENTRY; acl_get_entry(acl, id, &ent) == 1;
	     id = ACL_NEXT_ENTRY, n++)
		change |= entry_moves(r, orig, ent, &nq);
	if (!change) {
		acl_free(acl);
		return 0;
	}
	copy = acl_init(n);
	if (!copy)
		goto fail;
	for (id = ACL_FIRST_ENTRY; acl_get_entry(acl, id, &ent) == 1;
	     id = ACL_NEXT_ENTRY) {
		if (acl_create_entry(&copy, &ne) < 0 ||
		    acl_copy_entry(ne, ent) < 0)
			goto fail;
		if (entry_moves(r, orig, ent, &nq) &&
		    acl_set_qualifier(ne, &nq) < 0)
			goto fail;
	}
	walk_test_step();
	if (acl_set_file(p, type, copy) < 0)
		goto fail;
	acl_free(copy);
	acl_free(acl);
	return 1;
fail:
	rr = -errno;
	acl_free(copy);
	acl_free(acl);
	return rr ? rr : -EIO;
}

static int set_mode(int fd, uint32_t mode)
{
	char p[64];

	proc_fd(fd, p, sizeof(p));
	walk_test_step();
	return chmod(p, mode & 07777) < 0 ? -errno : 0;
}

/* ---- owner pair statistics ---- */

static void count_pair(struct ctx *c, uint32_t ou, uint32_t og, uint32_t nu,
		       uint32_t ng)
{
	size_t i;

	for (i = 0; i < c->npairs; i++) {
		struct pair_count *p = &c->pairs[i];

		if (p->ou == ou && p->og == og && p->nu == nu && p->ng == ng) {
			p->n++;
			/* Keep the frequent ones near the front. */
			if (i > 0 && p->n > c->pairs[i - 1].n) {
				struct pair_count t = *p;
				*p = c->pairs[i - 1];
				c->pairs[i - 1] = t;
			}
			return;
		}
	}
	if (c->npairs == c->pcap) {
		size_t ncap = c->pcap ? c->pcap * 2 : 16;
		struct pair_count *np = realloc(c->pairs, ncap * sizeof(*np));

		if (!np)
			return;
		c->pairs = np;
		c->pcap = ncap;
	}
	c->pairs[c->npairs++] = (struct pair_count){ou, og, nu, ng, 1};
}

/* ---- applying ---- */

/* security.capability as the run leaves it: the original with a v3 root id
 * moved like the owner (chown) or through the map (shift). */
static void restore_caps(struct ctx *c, const struct loc *l, int fd,
			 const struct journal_entry *orig, uint32_t new_uid)
{
	struct run *r = c->run;
	const struct journal_params *p = &r->o->p;
	unsigned char want[XATTR_CAPS_SZ_3];
	const void *val = orig->caps;
	struct shift_diag d;
	uint32_t clen;
	void *cur;
	int rr;

	if (orig->caps_len == sizeof(want)) {
		static __thread struct idmap one;

		memcpy(want, orig->caps, sizeof(want));
		if (p->verb == JOURNAL_SHIFT) {
			fcaps_xattr_shift(want, sizeof(want), &p->maps.uid,
					  !(p->flags & JF_REVERSE));
		} else if (orig->uid != new_uid) {
			idmap_init(&one);
			idmap_add(&one, orig->uid, new_uid, 1, &d);
			fcaps_xattr_shift(want, sizeof(want), &one, true);
		}
		val = want;
	}
	rr = fd_getxattr(fd, FCAPS_XATTR, &cur, &clen);
	if (rr == 0 && !same_blob(cur, clen, val, orig->caps_len)) {
		rr = fd_setxattr(fd, FCAPS_XATTR, val, orig->caps_len);
		if (rr == 0)
			c->c.caps_restored++;
	}
	free(cur);
	if (rr < 0)
		loc_error(r, l, "restore security.capability", -rr);
}

/* Shift the access (k 0) or default (k 1) ACL, once. */
static void shift_acls(struct ctx *c, const struct loc *l, int fd,
		       const struct journal_entry *orig, int k)
{
	const char *name = k ? ACL_XATTR_DEFAULT : ACL_XATTR_ACCESS;
	const void *ob = k ? orig->acl_default : orig->acl_access;
	uint32_t olen = k ? orig->acl_default_len : orig->acl_access_len;
	uint32_t clen;
	void *cur;
	int rr;

	rr = fd_getxattr(fd, name, &cur, &clen);
	/* A whole ACL is written at once: one that differs from the original
	 * is already shifted (never shift twice). */
	if (rr == 0 && same_blob(cur, clen, ob, olen)) {
		rr = shift_acl(c->run, orig, fd,
			       k ? ACL_TYPE_DEFAULT : ACL_TYPE_ACCESS);
		if (rr > 0)
			c->c.acl_changed++;
	}
	free(cur);
	if (rr < 0)
		loc_error(c->run, l, k ? "shift default ACL" : "shift ACL",
			  -rr);
}

/* Put back the original mode where the kernel cleared setuid/setgid. */
static void restore_mode(struct ctx *c, const struct loc *l, int fd,
			 const struct journal_entry *orig)
{
	struct stat st;
	int rr;

	if (fstat(fd, &st) < 0 || (st.st_mode & 07777) == (orig->mode & 07777))
		return;
	rr = set_mode(fd, orig->mode);
	if (rr < 0)
		loc_error(c->run, l, "restore mode", -rr);
	else if (orig->mode & (S_ISUID | S_ISGID))
		c->c.setid_restored++;
}

/* Where a journalled inode stands (resume and undo). */
enum jstate {
	JS_ORIG,    /* at its original owner: untouched, or undone */
	JS_RUN,	    /* as the run left it (or as a crash left it) */
	JS_CHANGED, /* another inode, or changed by someone since */
};

/* The mode bits are orig's, save setuid/setgid bits a chown cleared (a
 * run or undo interrupted between its chown and its chmod). */
static bool mode_ok(uint32_t cur, uint32_t orig)
{
	cur &= 07777;
	orig &= 07777;
	return (cur & ~06000u) == (orig & ~06000u) && !(cur & 06000u & ~orig);
}

static enum jstate judge(struct run *r, const struct journal_entry *e,
			 const struct target *t, const char **why)
{
	const struct statx *s = &t->stx;
	struct journal_after a;
	uint32_t u, g;
	int un;

	if (!target_is(t, e)) {
		*why = "another inode has its inode number now";
		return JS_CHANGED;
	}
	if (s->stx_uid == e->uid && s->stx_gid == e->gid &&
	    mode_ok(s->stx_mode, e->mode))
		return JS_ORIG;
	if (journal_lookup_after(r->jl, e->dev, e->ino, &a)) {
		/* A privileged inode: exactly as the run left it, ctime
		 * included (a write, chmod, xattr or link since moves it). */
		if (s->stx_uid == a.uid && s->stx_gid == a.gid &&
		    (s->stx_mode & 07777) == (a.mode & 07777) &&
		    same_ctime(s, a.ctime_sec, a.ctime_nsec))
			return JS_RUN;
		*why = "modified since the run";
		return JS_CHANGED;
	}
	final_owner(r, e, &u, &g, &un);
	if (s->stx_uid != u || s->stx_gid != g ||
	    !mode_ok(s->stx_mode, e->mode)) {
		*why = "its owner or mode changed since the run";
		return JS_CHANGED;
	}
	if (privileged(e) && !(e->id_flags & (JID_BTIME | JID_GEN))) {
		*why = "no birth time or generation proves it is the inode "
		       "the run changed";
		return JS_CHANGED;
	}
	return JS_RUN;
}

/* Keep the state the run left a privileged inode in, for APLD. */
static void note_after(struct ctx *c, const struct journal_entry *orig,
		       const struct target *t)
{
	struct run *r = c->run;
	struct journal_after old;
	struct statx now;

	if (!privileged(orig) || !r->j ||
	    statx(t->fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW,
		  STATX_BASIC_STATS, &now) < 0)
		return;
	if (r->jl && journal_lookup_after(r->jl, orig->dev, orig->ino, &old) &&
	    same_ctime(&now, old.ctime_sec, old.ctime_nsec))
		return; /* recorded already, and nothing changed */
	if (c->nafters == c->acap) {
		size_t ncap = c->acap ? c->acap * 2 : 64;
		struct journal_after *na =
			realloc(c->afters, ncap * sizeof(*na));

		if (!na)
			return;
		c->afters = na;
		c->acap = ncap;
	}
	c->afters[c->nafters++] = (struct journal_after){
		orig->dev,
		orig->ino,
		now.stx_uid,
		now.stx_gid,
		now.stx_mode,
		now.stx_ctime.tv_nsec,
		now.stx_ctime.tv_sec,
	};
}

static void write_afters(struct ctx *c)
{
	struct run *r = c->run;
	int rr;

	if (!c->nafters || !r->j)
		return;
	rr = journal_write_after(r->j, c->afters, c->nafters);
	if (rr < 0)
		warn("journal %s: cannot record the state of %zu setuid/"
		     "setgid or capability inodes: %s",
		     journal_path(r->j), c->nafters, strerror(-rr));
	c->nafters = 0;
}

/*
 * Bring the inode t (checked to be the one orig describes) from its
 * original metadata orig to the run's result: owner f(orig), caps f(orig
 * caps), ACLs f(orig ACLs), mode orig. Works from any intermediate state a
 * crash can leave (resume). Every change goes through t's fd.
 */
static void apply_forward(struct ctx *c, const struct loc *l,
			  const struct journal_entry *orig,
			  const struct target *t)
{
	struct run *r = c->run;
	uint32_t u, g;
	int un;

	final_owner(r, orig, &u, &g, &un);
	if (u != t->stx.stx_uid || g != t->stx.stx_gid) {
		walk_test_step();
		if (fchownat(t->fd, "", u, g,
			     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
			loc_error(r, l, "chown", errno);
			return;
		}
	}
	c->c.changed++;
	if (S_ISLNK(orig->mode) ||
	    (!orig->caps_len && !orig->acl_access_len &&
	     !orig->acl_default_len && !(orig->mode & (S_ISUID | S_ISGID))))
		return;
	if (orig->caps_len && S_ISREG(orig->mode))
		restore_caps(c, l, t->fd, orig, u);
	if (orig->acl_access_len)
		shift_acls(c, l, t->fd, orig, 0);
	if (orig->acl_default_len && S_ISDIR(orig->mode))
		shift_acls(c, l, t->fd, orig, 1);
	restore_mode(c, l, t->fd, orig);
	note_after(c, orig, t);
}

/* Put back exactly what the journal recorded on t (undo). */
static void apply_undo(struct ctx *c, const struct loc *l,
		       const struct journal_entry *orig, const struct target *t)
{
	const struct statx *stx = &t->stx;
	struct run *r = c->run;
	struct stat st;
	int fd = t->fd, rr, k;

	if (stx->stx_uid != orig->uid || stx->stx_gid != orig->gid) {
		walk_test_step();
		if (fchownat(fd, "", orig->uid, orig->gid,
			     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
			loc_error(r, l, "chown", errno);
			return;
		}
		c->c.changed++;
	}
	if (S_ISLNK(stx->stx_mode))
		return;
	/* Only what a chown can have changed besides the owner needs a look. */
	if (!orig->caps_len && !orig->acl_access_len &&
	    !orig->acl_default_len && !(orig->mode & (S_ISUID | S_ISGID)) &&
	    (stx->stx_mode & 07777) == (orig->mode & 07777))
		return;
	for (k = 0; k < 3; k++) {
		static const char *const names[] = {
			FCAPS_XATTR, ACL_XATTR_ACCESS, ACL_XATTR_DEFAULT};
		const void *ob = k == 0	  ? orig->caps
				 : k == 1 ? orig->acl_access
					  : orig->acl_default;
		uint32_t olen = k == 0	 ? orig->caps_len
				: k == 1 ? orig->acl_access_len
					 : orig->acl_default_len;
		void *cur;
		uint32_t clen;

		if (!olen)
			continue;
		rr = fd_getxattr(fd, names[k], &cur, &clen);
		if (rr == 0 && !same_blob(cur, clen, ob, olen)) {
			rr = fd_setxattr(fd, names[k], ob, olen);
			if (rr == 0 && k == 0)
				c->c.caps_restored++;
			else if (rr == 0)
				c->c.acl_changed++;
		}
		free(cur);
		if (rr < 0)
			loc_error(r, l, names[k], -rr);
	}
	if (fstat(fd, &st) == 0 &&
	    (st.st_mode & 07777) != (orig->mode & 07777)) {
		rr = set_mode(fd, orig->mode);
		if (rr < 0)
			loc_error(r, l, "restore mode", -rr);
		else if (orig->mode & (S_ISUID | S_ISGID))
			c->c.setid_restored++;
	}
}

/* A journalled inode left as it is: say why (the first few). */
static void skipped(struct ctx *c, const struct loc *l, const char *why)
{
	struct run *r = c->run;
	char p[PATH_MAX * 2];

	c->c.skipped_changed++;
	if (r->o->quiet || atomic_fetch_add(&r->reported, 1) >= REPORT_MAX)
		return;
	loc_path(l, p, sizeof(p));
	pthread_mutex_lock(&r->out_lock);
	progress_clear();
	fprintf(stderr, "%s: %s: %s: left as it is\n", program_name, p, why);
	pthread_mutex_unlock(&r->out_lock);
}

static void print_change(struct run *r, const struct loc *l,
			 const struct journal_entry *orig, uint32_t u,
			 uint32_t g, bool extra);

/* An inode the journal knows (resume, undo): only when it provably is the
 * inode the run changed, in a state the run (or a crash) left it in. */
static void journalled(struct ctx *c, const struct loc *l,
		       const struct journal_entry *jo)
{
	struct run *r = c->run;
	const char *why = NULL;
	struct target t;
	enum jstate js;
	int rr;

	rr = target_open(l, jo->dev, jo->ino, jo->id_flags & JID_GEN, &t);
	if (rr < 0) {
		if (rr == -ESTALE)
			walk_error_msg(&r->w,
				       &(struct walk_entry){
					       .dir = l->dir,
					       .name = l->name,
					       .is_root = l->at_empty != 0},
				       "changed during the walk (renamed?)");
		else
			loc_error(r, l, "open", -rr);
		return;
	}
	js = judge(r, jo, &t, &why);
	if (js == JS_CHANGED) {
		skipped(c, l, why);
	} else if (r->o->dry_run) {
		struct journal_entry cur = *jo;

		cur.uid = t.stx.stx_uid;
		cur.gid = t.stx.stx_gid;
		if (r->o->mode == RW_UNDO && !r->o->json && !r->o->quiet)
			print_change(r, l, &cur, jo->uid, jo->gid, false);
		c->c.changed++;
	} else if (r->o->mode == RW_UNDO) {
		apply_undo(c, l, jo, &t);
	} else {
		apply_forward(c, l, jo, &t);
	}
	target_close(&t);
}

/* A queued inode of a fresh run: changed only if it is still the inode
 * examined, in the state examined (ctime: not renamed, chmod'ed, chown'ed
 * or written to meanwhile). */
static void apply_pending(struct ctx *c, struct pending *p)
{
	struct run *r = c->run;
	const struct journal_entry *o = &p->orig;
	struct target t;
	int rr;

	rr = target_open(&p->l, o->dev, o->ino, o->id_flags & JID_GEN, &t);
	if (rr == 0 && (!target_is(&t, o) || t.stx.stx_uid != o->uid ||
			t.stx.stx_gid != o->gid || t.stx.stx_mode != o->mode ||
			!same_ctime(&t.stx, p->ctime_sec, p->ctime_nsec)))
		rr = -ESTALE;
	if (rr == -ESTALE || rr == -ENOENT) {
		walk_error_msg(
			&r->w,
			&(struct walk_entry){.dir = p->l.dir,
					     .name = p->l.name,
					     .is_root = p->l.at_empty != 0},
			"changed since it was examined (renamed, "
			"removed or modified): left as it is");
	} else if (rr < 0) {
		loc_error(r, &p->l, "open", -rr);
	} else {
		apply_forward(c, &p->l, o, &t);
	}
	target_close(&t);
}

/* ---- batches ---- */

static void free_pending(struct pending *p)
{
	walk_dir_unref(p->l.dir);
	free(p);
}

static void flush(void *arg)
{
	struct ctx *c = arg;
	struct run *r = c->run;
	struct journal_entry *es;
	size_t i;
	int rr = 0;

	if (!c->n) {
		write_afters(c);
		return;
	}
	if (atomic_load(&r->fatal))
		goto out;
	es = malloc(c->n * sizeof(*es));
	if (!es)
		rr = -ENOMEM;
	else {
		for (i = 0; i < c->n; i++)
			es[i] = c->batch[i]->orig;
		rr = journal_write_batch(r->j, es, c->n);
		free(es);
	}
	if (rr < 0) {
		/* Nothing of this batch is changed without its journal. */
		if (!atomic_exchange(&r->fatal, true)) {
			progress_clear();
			fprintf(stderr,
				"%s: cannot write journal %s: %s; stopped "
				"before changing the next batch\n",
				program_name, journal_path(r->j),
				strerror(-rr));
		}
		atomic_store(&r->w.stop, true);
		goto out;
	}
	for (i = 0; i < c->n; i++)
		apply_pending(c, c->batch[i]);
	write_afters(c);
out:
	for (i = 0; i < c->n; i++)
		free_pending(c->batch[i]);
	c->n = 0;
	c->ndirs = 0;
	c->last_dir = NULL;
}

static int queue(struct ctx *c, const struct loc *l,
		 const struct journal_entry *orig, const struct statx *stx)
{
	size_t nl = strlen(l->name) + 1;
	struct pending *p = malloc(sizeof(*p) + nl + orig->acl_access_len +
				   orig->acl_default_len + orig->caps_len);
	char *o;

	if (!p)
		return -ENOMEM;
	p->l = *l;
	p->l.dir = walk_dir_ref(l->dir);
	p->orig = *orig;
	p->ctime_sec = stx->stx_ctime.tv_sec;
	p->ctime_nsec = stx->stx_ctime.tv_nsec;
	o = p->data;
	memcpy(o, l->name, nl);
	p->l.name = o;
	o += nl;
	if (orig->acl_access_len)
		memcpy(o, orig->acl_access, orig->acl_access_len);
	p->orig.acl_access = o;
	o += orig->acl_access_len;
	if (orig->acl_default_len)
		memcpy(o, orig->acl_default, orig->acl_default_len);
	p->orig.acl_default = o;
	o += orig->acl_default_len;
	if (orig->caps_len)
		memcpy(o, orig->caps, orig->caps_len);
	p->orig.caps = o;
	if (l->dir != c->last_dir) {
		c->last_dir = l->dir;
		c->ndirs++;
	}
	c->batch[c->n++] = p;
	if (c->n >= BATCH_MAX || c->ndirs >= BATCH_DIRS)
		flush(c);
	return 0;
}

/* ---- visiting ---- */

/* Read the xattrs that matter into orig (malloc'd blobs in *bufs). */
static int read_xattrs(const struct loc *l, const struct statx *stx,
		       struct journal_entry *orig, void *bufs[3])
{
	char list[4096];
	ssize_t n;
	int fd, rr = 0;
	bool la, ld, cp;

	bufs[0] = bufs[1] = bufs[2] = NULL;
	if (S_ISLNK(stx->stx_mode))
		return 0;
	n = loc_listxattr(l, list, sizeof(list));
	if (n == -ERANGE) {
		la = ld = cp = true; /* a long list: just look */
	} else if (n < 0) {
		return n == -ENOTSUP ? 0 : (int)n;
	} else {
		la = list_has(list, n, ACL_XATTR_ACCESS);
		ld = S_ISDIR(stx->stx_mode) &&
		     list_has(list, n, ACL_XATTR_DEFAULT);
		cp = S_ISREG(stx->stx_mode) && list_has(list, n, FCAPS_XATTR);
	}
	if (!la && !ld && !cp)
		return 0;
	fd = loc_open(l, stx);
	if (fd < 0)
		return fd;
	if (la)
		rr = fd_getxattr(fd, ACL_XATTR_ACCESS, &bufs[0],
				 &orig->acl_access_len);
	if (!rr && ld)
		rr = fd_getxattr(fd, ACL_XATTR_DEFAULT, &bufs[1],
				 &orig->acl_default_len);
	if (!rr && cp)
		rr = fd_getxattr(fd, FCAPS_XATTR, &bufs[2], &orig->caps_len);
	close(fd);
	orig->acl_access = bufs[0];
	orig->acl_default = bufs[1];
	orig->caps = bufs[2];
	return rr;
}

static void report_unmappable(struct run *r, const struct loc *l,
			      const struct journal_entry *orig, int acl_un,
			      int cap_un)
{
	char p[PATH_MAX * 2];

	if (r->o->quiet || atomic_fetch_add(&r->reported, 1) >= REPORT_MAX)
		return;
	loc_path(l, p, sizeof(p));
	progress_clear();
	fprintf(stderr,
		"%s: %s: owner %u:%u%s%s has no image under the map, left "
		"unchanged\n",
		program_name, p, orig->uid, orig->gid,
		acl_un ? " (or an ACL entry)" : "",
		cap_un ? " (or its capability root id)" : "");
}

static void print_change(struct run *r, const struct loc *l,
			 const struct journal_entry *orig, uint32_t u,
			 uint32_t g, bool extra)
{
	char p[PATH_MAX * 2];

	loc_path(l, p, sizeof(p));
	pthread_mutex_lock(&r->out_lock);
	progress_clear();
	printf("%s: %u:%u -> %u:%u%s\n", p, orig->uid, orig->gid, u, g,
	       extra ? " (+acl/caps)" : "");
	pthread_mutex_unlock(&r->out_lock);
}

static void visit(void *arg, const struct walk_entry *e)
{
	struct ctx *c = arg;
	struct run *r = c->run;
	const struct journal_params *p = &r->o->p;
	struct journal_entry orig = {0}, jo;
	void *bufs[3] = {NULL, NULL, NULL};
	struct loc l;
	uint32_t u, g;
	int un = 0, acl_un = 0, cap_un = 0, rr;
	bool extra = false;

	if (atomic_load(&r->fatal))
		return;
	loc_of(e, &l);
	if (r->jl &&
	    journal_lookup(r->jl, walk_stx_dev(&e->stx), e->stx.stx_ino, &jo)) {
		/* Journalled by an earlier, interrupted run (resume) or the
		 * run being undone: work from the recorded original. */
		c->c.matched++;
		journalled(c, &l, &jo);
		return;
	}
	if (r->o->mode == RW_UNDO)
		return;
	orig.dev = walk_stx_dev(&e->stx);
	orig.ino = e->stx.stx_ino;
	orig.uid = e->stx.stx_uid;
	orig.gid = e->stx.stx_gid;
	orig.mode = e->stx.stx_mode;
	if (e->stx.stx_mask & STATX_BTIME) {
		orig.id_flags |= JID_BTIME;
		orig.btime_sec = e->stx.stx_btime.tv_sec;
		orig.btime_nsec = e->stx.stx_btime.tv_nsec;
	}
	if (p->verb == JOURNAL_CHOWN &&
	    (((p->flags & JF_FROM_UID) && orig.uid != p->from_uid) ||
	     ((p->flags & JF_FROM_GID) && orig.gid != p->from_gid))) {
		c->c.other_owner++;
		if (r->o->verbose) {
			char path[PATH_MAX * 2];

			loc_path(&l, path, sizeof(path));
			pthread_mutex_lock(&r->out_lock);
			printf("%s: owned by %u:%u, not --from: left alone\n",
			       path, orig.uid, orig.gid);
			pthread_mutex_unlock(&r->out_lock);
		}
		return;
	}
	final_owner(r, &orig, &u, &g, &un);
	if (p->verb == JOURNAL_CHOWN && u == orig.uid && g == orig.gid) {
		c->c.correct++;
		return;
	}
	rr = read_xattrs(&l, &e->stx, &orig, bufs);
	if (rr == -ESTALE) {
		walk_error_msg(&r->w, e, "changed during the walk (renamed?)");
		goto out;
	}
	if (rr < 0) {
		loc_error(r, &l, "read xattrs", -rr);
		goto out;
	}
	if (orig.acl_access_len &&
	    acl_blob_changes(r, &orig, orig.acl_access, orig.acl_access_len,
			     &acl_un) > 0)
		extra = true;
	if (orig.acl_default_len &&
	    acl_blob_changes(r, &orig, orig.acl_default, orig.acl_default_len,
			     &acl_un) > 0)
		extra = true;
	if (orig.caps_len) {
		uint32_t root;

		if (fcaps_xattr_rootid(orig.caps, orig.caps_len, &root) == 0) {
			uint32_t nr;

			if (!map_id(r, &orig, true, root, &nr))
				cap_un++;
			else if (nr != root)
				extra = true;
		}
	}
	if (un || acl_un || cap_un) {
		c->c.unmappable++;
		report_unmappable(r, &l, &orig, acl_un, cap_un);
	}
	if (u == orig.uid && g == orig.gid && !extra) {
		c->c.correct++;
		goto out;
	}
	count_pair(c, orig.uid, orig.gid, u, g);
	if (r->o->verbose || (r->o->dry_run && !r->o->json && !r->o->quiet))
		print_change(r, &l, &orig, u, g, extra);
	if (r->o->dry_run) {
		c->c.changed++;
		goto out;
	}
	/* The generation too, where the birth time is missing or the inode
	 * is one whose undo grants privilege (an O_RDONLY fd: files and
	 * directories only). */
	if ((S_ISREG(orig.mode) || S_ISDIR(orig.mode)) &&
	    (privileged(&orig) || !(orig.id_flags & JID_BTIME))) {
		struct target t;

		rr = target_open(&l, orig.dev, orig.ino, true, &t);
		if (rr == -ESTALE) {
			walk_error_msg(&r->w, e,
				       "changed during the walk (renamed?)");
			goto out;
		}
		if (rr == 0 && t.has_gen) {
			orig.id_flags |= JID_GEN;
			orig.gen = t.gen;
		}
		target_close(&t);
	}
	if (queue(c, &l, &orig, &e->stx) < 0) {
		loc_error(r, &l, "queue", ENOMEM);
		atomic_store(&r->w.stop, true);
	}
out:
	free(bufs[0]);
	free(bufs[1]);
	free(bufs[2]);
}

/* ---- options ---- */

/* clang-format off */
static const struct opt_def rewrite_defs[] = {
	{"dry-run", no_argument, OPT_DRY_RUN,
	 " -n, --dry-run              print what would change, change nothing\n"},
	{"journal", required_argument, OPT_JOURNAL,
	 "     --journal=FILE         journal here (outside PATH)\n"},
	{"resume", optional_argument, OPT_RESUME,
	 "     --resume[=JOURNAL]     finish an interrupted run\n"},
	{"cross-mounts", no_argument, OPT_CROSS_MOUNTS,
	 "     --cross-mounts         enter other filesystems mounted under PATH\n"},
	OPT_DEF_END,
};

static const struct opt_def common_defs[] = {
	{"force", no_argument, OPT_FORCE,
	 "     --force                allow system and home directories\n"},
	{"threads", required_argument, OPT_THREADS,
	 "     --threads=N            worker threads (default 2-4)\n"},
	{"json", no_argument, OPT_JSON,
	 "     --json                 print the summary as JSON\n"},
	{"verbose", no_argument, 'v',
	 " -v, --verbose              list every change\n"},
	{"quiet", no_argument, 'q',
	 " -q, --quiet                no progress, no summary\n"},
	OPT_DEF_HELP,
	OPT_DEF_END,
};
/* clang-format on */

const struct opt_group rewrite_opts_group = {NULL, rewrite_defs};
const struct opt_group rewrite_common_opts_group = {NULL, common_defs};

bool rewrite_option(struct rewrite_opts *o, int c, const char *arg,
		    const char *verb)
{
	uint32_t n;

	switch (c) {
	case OPT_DRY_RUN:
	case 'n':
		o->dry_run = true;
		return true;
	case OPT_JOURNAL:
		o->journal_file = arg;
		return true;
	case OPT_RESUME:
		o->resume = true;
		o->resume_file = arg;
		return true;
	case OPT_CROSS_MOUNTS:
		o->p.flags |= JF_CROSS_MOUNTS;
		return true;
	case OPT_FORCE:
		o->force = true;
		return true;
	case OPT_THREADS:
		if (parse_u32(arg, 1, WALK_MAX_THREADS, &n) < 0)
			usage_error(verb, "--threads takes 1 to %d, not '%s'",
				    WALK_MAX_THREADS, arg);
		o->threads = (int)n;
		return true;
	case OPT_JSON:
		o->json = true;
		return true;
	case 'v':
		o->verbose = true;
		return true;
	case 'q':
		o->quiet = true;
		return true;
	}
	return false;
}

int rewrite_resume_args(struct rewrite_opts *o, int argc, char **argv,
			const char *verb)
{
	struct stat st;

	/* "--resume JOURNAL" (a file) as well as "--resume=JOURNAL". */
	if (!o->resume_file && optind < argc && stat(argv[optind], &st) == 0 &&
	    S_ISREG(st.st_mode))
		o->resume_file = argv[optind++];
	if (optind + 1 < argc)
		usage_error(verb, "--resume takes one JOURNAL or PATH");
	if (!o->resume_file && optind >= argc)
		usage_error(verb, "--resume needs a JOURNAL or the PATH");
	if (o->journal_file)
		usage_error(verb, "--resume appends to its own journal: no "
				  "--journal");
	return rewrite_run(optind < argc ? argv[optind] : NULL, o);
}

/* ---- checks on PATH and the journal location ---- */

/* Is dir (an existing directory) inside the tree rooted at (dev, ino)? */
static bool inside_tree(const char *dir, uint64_t dev, uint64_t ino)
{
	struct stat st, up;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), nfd;

	while (fd >= 0 && fstat(fd, &st) == 0) {
		if (st.st_dev == dev && st.st_ino == ino) {
			close(fd);
			return true;
		}
		nfd = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		close(fd);
		fd = nfd;
		if (fd >= 0 && fstat(fd, &up) == 0 && up.st_dev == st.st_dev &&
		    up.st_ino == st.st_ino)
			break; /* reached / */
	}
	if (fd >= 0)
		close(fd);
	return false;
}

static const char *mode_name(const struct rewrite_opts *o);

/* Giving files to other users takes CAP_CHOWN: say so once, up front,
 * rather than once per inode. */
static void need_privilege(const struct rewrite_opts *o)
{
	if (o->dry_run || geteuid() == 0)
		return;
	if (o->mode == RW_CHOWN && o->p.uid == geteuid() &&
	    o->p.gid == getegid())
		return;
	die(EXIT_FAIL,
	    "%s: changing owners to other ids needs root "
	    "(CAP_CHOWN); --dry-run works unprivileged",
	    mode_name(o));
}

/* Open PATH as the tree's root and refuse what must not be changed. */
static int open_tree(const char *path, struct rewrite_opts *o,
		     struct statx *stx, char *real, size_t rlen)
{
	const char *why;
	int fd;

	fd = walk_open_root(path, stx);
	if (fd == -ELOOP)
		die(EXIT_FAIL, "%s: is a symbolic link (give the real path)",
		    path);
	if (fd < 0)
		die(EXIT_FAIL, "%s: %s", path, strerror(-fd));
	if (!S_ISDIR(stx->stx_mode) && o->mode == RW_SHIFT)
		die(EXIT_FAIL, "%s: not a directory", path);
	if (!realpath(path, real))
		die(EXIT_FAIL, "%s: %s", path, strerror(errno));
	(void)rlen;
	/* The same refusal for undo: a journal names the tree it changes. */
	if (!o->force && (why = syspath_why(real)))
		die(EXIT_FAIL, "%s: refusing to change %s (--force to insist)",
		    real, why);
	why = walk_fs_refusal(fd);
	if (why && (strcmp(why, "read-only") || !o->dry_run))
		die(EXIT_FAIL, "%s: on a %s filesystem, nothing to change",
		    real, why);
	/* One rewrite of a tree at a time (released at exit). */
	if (!o->dry_run && S_ISDIR(stx->stx_mode) &&
	    flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK)
		die(EXIT_FAIL, "%s: another shiftctl is changing this tree",
		    real);
	return fd;
}

/* ---- running ---- */

static void sum_counters(struct ctx *cs, int n, struct counters *t)
{
	int i;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < n; i++) {
		t->changed += cs[i].c.changed;
		t->correct += cs[i].c.correct;
		t->unmappable += cs[i].c.unmappable;
		t->other_owner += cs[i].c.other_owner;
		t->acl_changed += cs[i].c.acl_changed;
		t->caps_restored += cs[i].c.caps_restored;
		t->setid_restored += cs[i].c.setid_restored;
		t->matched += cs[i].c.matched;
		t->skipped_changed += cs[i].c.skipped_changed;
	}
}

static int cmp_pairs(const void *a, const void *b)
{
	const struct pair_count *x = a, *y = b;

	return x->n < y->n ? 1 : x->n > y->n ? -1 : 0;
}

/* Merge the per-thread owner pair counts into *out (sorted, n returned). */
static size_t merge_pairs(struct ctx *cs, int n, struct pair_count **out)
{
	struct pair_count *all = NULL;
	size_t na = 0, cap = 0, i, k;
	int t;

	for (t = 0; t < n; t++)
		for (i = 0; i < cs[t].npairs; i++) {
			struct pair_count *p = &cs[t].pairs[i];

			for (k = 0; k < na; k++)
				if (all[k].ou == p->ou && all[k].og == p->og &&
				    all[k].nu == p->nu && all[k].ng == p->ng)
					break;
			if (k < na) {
				all[k].n += p->n;
				continue;
			}
			if (na == cap) {
				struct pair_count *nall;

				cap = cap ? cap * 2 : 16;
				nall = realloc(all, cap * sizeof(*all));
				if (!nall)
					break;
				all = nall;
			}
			all[na++] = *p;
		}
	if (na)
		qsort(all, na, sizeof(*all), cmp_pairs);
	*out = all;
	return na;
}

static const char *mode_name(const struct rewrite_opts *o)
{
	return o->mode == RW_UNDO    ? "undo"
	       : o->mode == RW_SHIFT ? "shift"
				     : "chown";
}

static void summary(struct run *r, struct ctx *cs, const struct counters *t,
		    double elapsed, const char *path)
{
	struct rewrite_opts *o = r->o;
	struct pair_count *pairs;
	size_t np = merge_pairs(cs, r->w.nthreads, &pairs), i;
	uint64_t visited = atomic_load(&r->w.visited);

	if (o->json) {
		struct json_object *j = json_object_new_object(), *a;

		json_object_object_add(j, "verb",
				       json_object_new_string(mode_name(o)));
		json_object_object_add(j, "path", json_object_new_string(path));
		json_object_object_add(j, "dry_run",
				       json_object_new_boolean(o->dry_run));
		json_object_object_add(
			j, "journal",
			r->journal_removed ? NULL
			: r->j	? json_object_new_string(journal_path(r->j))
			: r->jl ? json_object_new_string(r->jl->path)
				: NULL);
#define ADD(k, v)                                                              \
	json_object_object_add(j, k, json_object_new_int64((int64_t)(v)))
		ADD("inodes_visited", visited);
		ADD("changed", t->changed);
		ADD("skipped_correct", t->correct);
		ADD("unmappable", t->unmappable);
		ADD("other_owner", t->other_owner);
		ADD("hard_links", atomic_load(&r->w.hardlinks));
		ADD("acl_changed", t->acl_changed);
		ADD("caps_restored", t->caps_restored);
		ADD("setid_restored", t->setid_restored);
		ADD("mounts_skipped", atomic_load(&r->w.mounts_skipped));
		ADD("errors", atomic_load(&r->w.errors));
		if (r->jl)
			ADD("skipped_changed", t->skipped_changed);
		if (r->jl)
			ADD("journalled_found", t->matched);
		if (o->mode == RW_UNDO)
			ADD("journalled_missing", r->jl->nentries - t->matched);
#undef ADD
		json_object_object_add(j, "elapsed_s",
				       json_object_new_double(elapsed));
		a = json_object_new_array();
		for (i = 0; i < np; i++) {
			struct json_object *e = json_object_new_object();
			char b[32];

			snprintf(b, sizeof(b), "%u:%u", pairs[i].ou,
				 pairs[i].og);
			json_object_object_add(e, "from",
					       json_object_new_string(b));
			snprintf(b, sizeof(b), "%u:%u", pairs[i].nu,
				 pairs[i].ng);
			json_object_object_add(e, "to",
					       json_object_new_string(b));
			json_object_object_add(
				e, "count",
				json_object_new_int64((int64_t)pairs[i].n));
			json_object_array_add(a, e);
		}
		json_object_object_add(j, "owners", a);
		json_print(j);
		free(pairs);
		return;
	}
	if (!o->quiet || o->dry_run) {
		printf("%s%s: %llu inodes: %llu %s, %llu already correct",
		       mode_name(o), o->dry_run ? " (dry run)" : "",
		       (unsigned long long)visited,
		       (unsigned long long)t->changed,
		       o->dry_run	    ? "would change"
		       : o->mode == RW_UNDO ? "restored"
					    : "changed",
		       (unsigned long long)t->correct);
		if (t->unmappable)
			printf(", %llu unmappable (left unchanged)",
			       (unsigned long long)t->unmappable);
		if (t->other_owner)
			printf(", %llu with other owners (skipped)",
			       (unsigned long long)t->other_owner);
		printf(", %llu hard links, %llu ACLs, %llu caps, %llu "
		       "setuid/setgid restored, %llu errors, %.2f s\n",
		       (unsigned long long)atomic_load(&r->w.hardlinks),
		       (unsigned long long)t->acl_changed,
		       (unsigned long long)t->caps_restored,
		       (unsigned long long)t->setid_restored,
		       (unsigned long long)atomic_load(&r->w.errors), elapsed);
		if (t->skipped_changed)
			printf("%s: %llu skipped: changed since the run "
			       "(left as they are)\n",
			       mode_name(o),
			       (unsigned long long)t->skipped_changed);
		if (o->mode == RW_UNDO && r->jl->nentries > t->matched)
			printf("undo: %llu journalled inodes not found in the "
			       "tree\n",
			       (unsigned long long)(r->jl->nentries -
						    t->matched));
		for (i = 0; i < np && i < REPORT_MAX; i++)
			printf("  %u:%u -> %u:%u  %llu\n", pairs[i].ou,
			       pairs[i].og, pairs[i].nu, pairs[i].ng,
			       (unsigned long long)pairs[i].n);
		if (np > REPORT_MAX)
			printf("  ... and %zu more owner pairs\n",
			       np - REPORT_MAX);
	}
	free(pairs);
}

static int default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 2 ? 2 : n > 4 ? 4 : (int)n;
}

static uint64_t estimate(int fd, const struct statx *stx)
{
	struct statvfs sv;

	/* Only a whole filesystem has a known inode count. */
	if (!(stx->stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) ||
	    !(stx->stx_attributes & STATX_ATTR_MOUNT_ROOT) ||
	    fstatvfs(fd, &sv) < 0 || sv.f_files < sv.f_ffree)
		return 0;
	return sv.f_files - sv.f_ffree;
}

/* Can the map's images be shifted again (an image range meets a domain
 * range)? Then an inode another user renames into a directory not yet
 * walked must not be seen twice. */
static bool map_overlaps(const struct idmap *m)
{
	uint32_t i, k;

	for (i = 0; i < m->n; i++)
		for (k = 0; k < m->n; k++) {
			uint64_t d = m->r[i].disk, v = m->r[k].view;

			if (d < v + m->r[k].count && v < d + m->r[i].count)
				return true;
		}
	return false;
}

/* Walk the tree at fd with r set up; returns the exit code. */
static int walk_tree(struct run *r, int fd, const struct statx *stx,
		     const char *path)
{
	struct rewrite_opts *o = r->o;
	struct ctx cs[WALK_MAX_THREADS];
	void *ctxp[WALK_MAX_THREADS];
	struct counters t;
	struct timespec t0, t1;
	double el;
	int i, n = o->threads > 0 ? o->threads : default_threads(), rr;

	if (n > WALK_MAX_THREADS)
		n = WALK_MAX_THREADS;
	memset(cs, 0, sizeof(cs));
	for (i = 0; i < n; i++) {
		cs[i].run = r;
		cs[i].batch = malloc(BATCH_MAX * sizeof(*cs[i].batch));
		if (!cs[i].batch)
			die(EXIT_FAIL, "%s", strerror(ENOMEM));
		ctxp[i] = &cs[i];
	}
	r->w.root_path = path;
	r->w.cross_mounts = o->p.flags & JF_CROSS_MOUNTS;
	r->w.nthreads = n;
	r->w.ctx = ctxp;
	r->w.ops = (struct walk_ops){visit, flush};
	r->w.quiet = o->quiet;
	r->w.visit_once =
		o->p.verb == JOURNAL_SHIFT &&
		(map_overlaps(&o->p.maps.uid) || map_overlaps(&o->p.maps.gid));
	pthread_mutex_init(&r->out_lock, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	progress_start(estimate(fd, stx), o->quiet || o->json);
	rr = walk_run(&r->w, fd, stx);
	progress_finish();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	el = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (rr < 0)
		die(EXIT_FAIL, "%s: %s", path, strerror(-rr));
	sum_counters(cs, n, &t);
	if (r->j && !r->jl && !atomic_load(&r->fatal) &&
	    !journal_batches(r->j)) {
		/* Nothing changed: a journal with nothing to undo is noise. */
		unlink(journal_path(r->j));
		r->journal_removed = true;
	}
	if (!atomic_load(&r->fatal))
		summary(r, cs, &t, el, path);
	for (i = 0; i < n; i++) {
		free(cs[i].batch);
		free(cs[i].pairs);
		free(cs[i].afters);
	}
	r->skipped_changed = t.skipped_changed;
	if (atomic_load(&r->fatal) || atomic_load(&r->w.errors) ||
	    t.skipped_changed)
		return EXIT_FAIL;
	if (o->strict && t.unmappable)
		return EXIT_FAIL;
	return EXIT_OK;
}

static void check_tree(const struct journal_loaded *jl, const struct statx *stx,
		       const char *path)
{
	if (walk_stx_dev(stx) != jl->p.root_dev ||
	    stx->stx_ino != jl->p.root_ino)
		die(EXIT_FAIL,
		    "%s: journal %s belongs to another tree (%s, device %llx "
		    "inode %llu)",
		    path, jl->path, jl->p.root_path,
		    (unsigned long long)jl->p.root_dev,
		    (unsigned long long)jl->p.root_ino);
}

static struct journal_loaded *load_or_die(const char *file)
{
	struct journal_loaded *jl = malloc(sizeof(*jl));
	char err[PATH_MAX + 128];

	if (!jl)
		die(EXIT_FAIL, "%s", strerror(ENOMEM));
	if (journal_load(file, jl, err, sizeof(err)) < 0)
		die(EXIT_FAIL, "cannot read journal %s: %s", file, err);
	return jl;
}

/* The journal for a fresh run: create it outside the tree. */
static struct journal *new_journal(struct rewrite_opts *o, const char *real)
{
	char dir[PATH_MAX], file[PATH_MAX], tmp[PATH_MAX], err[PATH_MAX + 128];
	struct journal *j;
	struct stat st;
	int rr;

	if (o->journal_file) {
		snprintf(file, sizeof(file), "%s", o->journal_file);
		snprintf(tmp, sizeof(tmp), "%s", o->journal_file);
		snprintf(dir, sizeof(dir), "%s", dirname(tmp));
	} else {
		rr = journal_default_dir(dir, sizeof(dir));
		if (rr < 0)
			die(EXIT_FAIL,
			    "cannot create the journal directory %s: %s "
			    "(use --journal=FILE)",
			    dir, strerror(-rr));
		journal_default_name(dir, &o->p, file, sizeof(file));
	}
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		die(EXIT_FAIL, "journal directory %s: %s", dir,
		    strerror(errno ? errno : ENOTDIR));
	if (inside_tree(dir, o->p.root_dev, o->p.root_ino))
		die(EXIT_FAIL,
		    "journal %s would be inside the tree %s: put it elsewhere",
		    file, real);
	rr = journal_create(file, &o->p, &j, err, sizeof(err));
	if (rr < 0)
		die(EXIT_FAIL, "cannot create journal %s: %s", file, err);
	fprintf(stderr, "%s: journal: %s\n", program_name, file);
	return j;
}

int rewrite_run(const char *path, struct rewrite_opts *o)
{
	struct run r = {.o = o};
	struct statx stx;
	char real[PATH_MAX];
	unsigned long long errors;
	int fd, code, rr;

	if (o->resume) {
		char found[PATH_MAX], dir[PATH_MAX];
		const char *file = o->resume_file;

		if (!file) {
			struct statx s2;
			int f2 = walk_open_root(path, &s2);

			if (f2 < 0)
				die(EXIT_FAIL, "%s: %s", path, strerror(-f2));
			close(f2);
			rr = journal_default_dir(dir, sizeof(dir));
			if (rr == 0)
				rr = journal_find(dir, o->p.verb,
						  walk_stx_dev(&s2), s2.stx_ino,
						  true, found, sizeof(found));
			if (rr < 0)
				die(EXIT_FAIL,
				    "%s: no unfinished %s journal for this "
				    "tree "
				    "in %s",
				    path, mode_name(o), dir);
			file = found;
		}
		r.jl = load_or_die(file);
		if (r.jl->p.verb != o->p.verb)
			die(EXIT_FAIL, "journal %s is from shiftctl %s, not %s",
			    file,
			    r.jl->p.verb == JOURNAL_SHIFT ? "shift" : "chown",
			    mode_name(o));
		o->p = r.jl->p;
		need_privilege(o);
		if (!path)
			path = r.jl->p.root_path;
		fd = open_tree(path, o, &stx, real, sizeof(real));
		check_tree(r.jl, &stx, path);
		if (r.jl->done || r.jl->undone) {
			printf("%s: journal %s: the run was already %s\n",
			       mode_name(o), r.jl->path,
			       r.jl->undone ? "undone" : "completed");
			journal_unload(r.jl);
			free(r.jl);
			close(fd);
			return EXIT_OK;
		}
		if (!o->dry_run) {
			rr = journal_reopen(r.jl, &r.j);
			if (rr < 0)
				die(EXIT_FAIL, "cannot reopen journal %s: %s",
				    r.jl->path, strerror(-rr));
			fprintf(stderr, "%s: resuming with journal: %s\n",
				program_name, r.jl->path);
		}
	} else {
		need_privilege(o);
		fd = open_tree(path, o, &stx, real, sizeof(real));
		o->p.root_dev = walk_stx_dev(&stx);
		o->p.root_ino = stx.stx_ino;
		snprintf(o->p.root_path, sizeof(o->p.root_path), "%s", real);
		if (o->strict && !o->dry_run) {
			/* A read-only pass first: fail before changing
			 * anything. */
			struct rewrite_opts pre = *o;
			struct run pr = {.o = &pre};

			pre.dry_run = pre.quiet = true;
			pre.json = false;
			pre.verbose = false;
			if (walk_tree(&pr, fd, &stx, path) != EXIT_OK) {
				fprintf(stderr,
					"%s: %s: some owners have no image "
					"under "
					"the map (--strict): nothing changed\n",
					program_name, path);
				close(fd);
				return EXIT_FAIL;
			}
		}
		if (!o->dry_run)
			r.j = new_journal(o, real);
	}
	code = walk_tree(&r, fd, &stx, path);
	errors = atomic_load(&r.w.errors);
	if (r.journal_removed) {
		if (!o->quiet && !o->json)
			fprintf(stderr,
				"%s: nothing changed, journal removed\n",
				program_name);
	} else if (r.j && !atomic_load(&r.fatal) && !atomic_load(&r.w.stop) &&
		   !errors) {
		rr = journal_mark_done(r.j);
		if (rr < 0) {
			fprintf(stderr,
				"%s: cannot mark journal %s complete: %s\n",
				program_name, journal_path(r.j), strerror(-rr));
			code = EXIT_FAIL;
		}
	} else if (r.j && !atomic_load(&r.fatal)) {
		/* Not DONE: --resume retries what failed. */
		fprintf(stderr,
			"%s: %s: %llu error%s: the run is not complete; "
			"after fixing the cause, finish it with: shiftctl %s "
			"--resume %s\n",
			program_name, mode_name(o), (unsigned long long)errors,
			errors == 1 ? "" : "s", mode_name(o),
			journal_path(r.j));
	}
	if (r.j)
		journal_close(r.j);
	if (r.jl) {
		journal_unload(r.jl);
		free(r.jl);
	}
	close(fd);
	return code;
}

int rewrite_undo(const char *arg, struct rewrite_opts *o)
{
	struct run r = {.o = o};
	struct journal *j = NULL;
	struct statx stx;
	char real[PATH_MAX], found[PATH_MAX], dir[PATH_MAX];
	const char *file = arg;
	struct stat st;
	int fd, code, rr;

	if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode)) {
		fd = walk_open_root(arg, &stx);
		if (fd < 0)
			die(EXIT_FAIL, "%s: %s", arg, strerror(-fd));
		close(fd);
		rr = journal_default_dir(dir, sizeof(dir));
		if (rr == 0)
			rr = journal_find(dir, 0, walk_stx_dev(&stx),
					  stx.stx_ino, false, found,
					  sizeof(found));
		if (rr < 0)
			die(EXIT_FAIL, "%s: no journal for this tree in %s",
			    arg, dir);
		file = found;
	}
	r.jl = load_or_die(file);
	o->p = r.jl->p;
	need_privilege(o);
	fd = open_tree(r.jl->p.root_path, o, &stx, real, sizeof(real));
	check_tree(r.jl, &stx, r.jl->p.root_path);
	if (!o->quiet && !o->json)
		fprintf(stderr, "%s: undoing with journal: %s (%zu inodes)\n",
			program_name, r.jl->path, r.jl->nentries);
	rr = o->dry_run ? 0 : journal_reopen(r.jl, &j);
	code = walk_tree(&r, fd, &stx, r.jl->p.root_path);
	/* Marked undone when nothing failed (what was skipped would be
	 * skipped again); an unmarked journal could be --resume'd later. */
	if (!o->dry_run && !atomic_load(&r.w.errors) &&
	    !atomic_load(&r.w.stop)) {
		if (rr == 0)
			rr = journal_mark_undone(j);
		if (rr < 0) {
			fprintf(stderr,
				"%s: cannot mark journal %s undone: %s (the "
				"owners are restored; a --resume of this "
				"journal would redo the run)\n",
				program_name, r.jl->path, strerror(-rr));
			code = EXIT_FAIL;
		}
	}
	journal_close(j);
	journal_unload(r.jl);
	free(r.jl);
	close(fd);
	return code;
}
