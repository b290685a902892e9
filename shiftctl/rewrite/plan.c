/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Deciding, per inode (the walk's visit callback): the owner, named ACL
 * entries and file capability root id an inode must end up with under the
 * run's id function (chown: its owner moves to the target; shift: the
 * map), whether it is left alone (--from, correct, unmappable), and, for
 * an inode a journal knows, where it stands (plan_judge()). What is to be
 * changed is queued for apply.c with its original metadata.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/acl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <acl/libacl.h>
#include <linux/posix_acl.h>

#include "acl_xattr.h"
#include "fcaps_xattr.h"
#include "progress.h"
#include "rewrite_int.h"
#include "shiftctl.h"

/* An inode whose restored metadata grants privilege: undo and resume
 * want proof that nobody changed it since the run. */
bool privileged(const struct journal_entry *e)
{
	return (S_ISREG(e->mode) && (e->mode & (S_ISUID | S_ISGID))) ||
	       e->caps_len;
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
void final_owner(struct run *r, const struct journal_entry *orig, uint32_t *u,
		 uint32_t *g, int *unmappable)
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
bool entry_moves(struct run *r, const struct journal_entry *orig,
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

/* ---- owner pair statistics ---- */

static void count_pair(struct ctx *c, uint32_t ou, uint32_t og, uint32_t nu,
		       uint32_t ng)
{
	size_t i;

	for (i = 0; i < c->npairs; i++) {
		struct rewrite_pair *p = &c->pairs[i];

		if (p->ou == ou && p->og == og && p->nu == nu && p->ng == ng) {
			p->n++;
			/* Keep the frequent ones near the front. */
			if (i > 0 && p->n > c->pairs[i - 1].n) {
				struct rewrite_pair t = *p;
				*p = c->pairs[i - 1];
				c->pairs[i - 1] = t;
			}
			return;
		}
	}
	if (c->npairs == c->pcap) {
		size_t ncap = c->pcap ? c->pcap * 2 : 16;
		struct rewrite_pair *np = realloc(c->pairs, ncap * sizeof(*np));

		if (!np)
			return;
		c->pairs = np;
		c->pcap = ncap;
	}
	c->pairs[c->npairs++] = (struct rewrite_pair){ou, og, nu, ng, 1};
}

/* The mode bits are orig's, save setuid/setgid bits a chown cleared (a
 * run or undo interrupted between its chown and its chmod). */
static bool mode_ok(uint32_t cur, uint32_t orig)
{
	cur &= 07777;
	orig &= 07777;
	return (cur & ~06000u) == (orig & ~06000u) && !(cur & 06000u & ~orig);
}

#define NO_PROOF                                                              \
	"setuid/setgid or capability inode without a birth time: nothing "   \
	"proves it is the inode the run changed (its owner can set the "      \
	"generation)"

enum jstate plan_judge(struct run *r, const struct journal_entry *e,
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
		if (!(s->stx_uid == a.uid && s->stx_gid == a.gid &&
		      (s->stx_mode & 07777) == (a.mode & 07777) &&
		      same_ctime(s, a.ctime_sec, a.ctime_nsec))) {
			*why = "modified since the run";
			return JS_CHANGED;
		}
		/* Without a birth time, identity rests on the generation,
		 * which the inode's owner sets (chattr -v): only a ctime to
		 * the nanosecond still tells the run's inode from one
		 * created in the same second (whole-second timestamps:
		 * ext2/3, ext4 with 128-byte inodes). */
		if (!(e->id_flags & JID_BTIME) && !a.ctime_nsec) {
			*why = NO_PROOF;
			return JS_CHANGED;
		}
		return JS_RUN;
	}
	final_owner(r, e, &u, &g, &un);
	if (s->stx_uid != u || s->stx_gid != g ||
	    !mode_ok(s->stx_mode, e->mode)) {
		*why = "its owner or mode changed since the run";
		return JS_CHANGED;
	}
	/* No record of how the run left it (a crash came between): a
	 * generation proves nothing against the inode's owner. */
	if (privileged(e) && !(e->id_flags & JID_BTIME)) {
		*why = NO_PROOF;
		return JS_CHANGED;
	}
	return JS_RUN;
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

	if (r->o->quiet ||
	    atomic_fetch_add(&r->reported, 1) >= REWRITE_REPORT_MAX)
		return;
	loc_path(l, p, sizeof(p));
	r->o->report->unmappable(p, orig->uid, orig->gid, acl_un, cap_un);
}

void report_change(struct run *r, const struct loc *l,
		   const struct journal_entry *orig, uint32_t u, uint32_t g,
		   bool extra)
{
	char p[PATH_MAX * 2];

	loc_path(l, p, sizeof(p));
	pthread_mutex_lock(&r->out_lock);
	r->o->report->change(p, orig->uid, orig->gid, u, g, extra);
	pthread_mutex_unlock(&r->out_lock);
}

/* The metadata of a fresh inode as the walk saw it. */
static void orig_of(const struct walk_entry *e, struct journal_entry *orig)
{
	orig->dev = walk_stx_dev(&e->stx);
	orig->ino = e->stx.stx_ino;
	orig->uid = e->stx.stx_uid;
	orig->gid = e->stx.stx_gid;
	orig->mode = e->stx.stx_mode;
	if (e->stx.stx_mask & STATX_BTIME) {
		orig->id_flags |= JID_BTIME;
		orig->btime_sec = e->stx.stx_btime.tv_sec;
		orig->btime_nsec = e->stx.stx_btime.tv_nsec;
	}
}

/* chown --from: is the inode owned by other ids (then left alone)? */
static bool other_owner(struct ctx *c, const struct loc *l,
			const struct journal_entry *orig)
{
	struct run *r = c->run;
	const struct journal_params *p = &r->o->p;

	if (!(p->verb == JOURNAL_CHOWN &&
	      (((p->flags & JF_FROM_UID) && orig->uid != p->from_uid) ||
	       ((p->flags & JF_FROM_GID) && orig->gid != p->from_gid))))
		return false;
	c->c.other_owner++;
	if (r->o->verbose) {
		char path[PATH_MAX * 2];

		loc_path(l, path, sizeof(path));
		pthread_mutex_lock(&r->out_lock);
		r->o->report->other_owner(path, orig->uid, orig->gid);
		pthread_mutex_unlock(&r->out_lock);
	}
	return true;
}

/* Would the ACL entries or the capability root id of orig move? Counts
 * the unmappable ones. */
static bool extras_move(struct run *r, const struct journal_entry *orig,
			int *acl_un, int *cap_un)
{
	bool extra = false;

	if (orig->acl_access_len &&
	    acl_blob_changes(r, orig, orig->acl_access, orig->acl_access_len,
			     acl_un) > 0)
		extra = true;
	if (orig->acl_default_len &&
	    acl_blob_changes(r, orig, orig->acl_default, orig->acl_default_len,
			     acl_un) > 0)
		extra = true;
	if (orig->caps_len) {
		uint32_t root;

		if (fcaps_xattr_rootid(orig->caps, orig->caps_len, &root) ==
		    0) {
			uint32_t nr;

			if (!map_id(r, orig, true, root, &nr))
				(*cap_un)++;
			else if (nr != root)
				extra = true;
		}
	}
	return extra;
}

/*
 * --dry-run: count the ACLs, capabilities and setuid/setgid bits the real
 * run would restore (apply.c), as it would: an ACL whose entries move; a
 * file capability, which the kernel drops on chown, when the owner changes
 * or its root id moves; a setuid (or group-executable setgid) regular file
 * whose owner changes, since the kernel clears those bits on chown.
 */
static void dry_run_extras(struct ctx *c, const struct journal_entry *orig,
			   uint32_t u, uint32_t g)
{
	struct run *r = c->run;
	bool owner = u != orig->uid || g != orig->gid;
	int un = 0;

	if (S_ISLNK(orig->mode))
		return;
	if (orig->acl_access_len &&
	    acl_blob_changes(r, orig, orig->acl_access, orig->acl_access_len,
			     &un) > 0)
		c->c.acl_changed++;
	if (orig->acl_default_len && S_ISDIR(orig->mode) &&
	    acl_blob_changes(r, orig, orig->acl_default, orig->acl_default_len,
			     &un) > 0)
		c->c.acl_changed++;
	if (orig->caps_len && S_ISREG(orig->mode)) {
		uint32_t root, nr;
		bool moves = fcaps_xattr_rootid(orig->caps, orig->caps_len,
						&root) == 0 &&
			     map_id(r, orig, true, root, &nr) && nr != root;

		if (owner || moves)
			c->c.caps_restored++;
	}
	if (owner && S_ISREG(orig->mode) &&
	    ((orig->mode & S_ISUID) ||
	     ((orig->mode & S_ISGID) && (orig->mode & S_IXGRP))))
		c->c.setid_restored++;
}

/*
 * The generation too, where the birth time is missing or the inode is one
 * whose undo grants privilege (an O_RDONLY fd: files and directories
 * only). -ESTALE (reported) when the inode is no longer the one seen.
 */
static int note_gen(struct run *r, const struct walk_entry *e,
		    const struct loc *l, struct journal_entry *orig)
{
	struct target t;
	int rr;

	if (!((S_ISREG(orig->mode) || S_ISDIR(orig->mode)) &&
	      (privileged(orig) || !(orig->id_flags & JID_BTIME))))
		return 0;
	rr = target_open(l, orig->dev, orig->ino, true, &t);
	if (rr == -ESTALE) {
		walk_error_msg(&r->w, e, "changed during the walk (renamed?)");
		return rr;
	}
	if (rr == 0 && t.has_gen) {
		orig->id_flags |= JID_GEN;
		orig->gen = t.gen;
	}
	target_close(&t);
	return 0;
}

/* A fresh inode (no journal knows it): decide, and queue what changes. */
static void plan_fresh(struct ctx *c, const struct walk_entry *e,
		       const struct loc *l)
{
	struct run *r = c->run;
	const struct journal_params *p = &r->o->p;
	struct journal_entry orig = {0};
	void *bufs[3] = {NULL, NULL, NULL};
	uint32_t u, g;
	int un = 0, acl_un = 0, cap_un = 0, rr;
	bool extra;

	orig_of(e, &orig);
	if (other_owner(c, l, &orig))
		return;
	final_owner(r, &orig, &u, &g, &un);
	if (p->verb == JOURNAL_CHOWN && u == orig.uid && g == orig.gid) {
		c->c.correct++;
		return;
	}
	rr = read_xattrs(l, &e->stx, &orig, bufs);
	if (rr == -ESTALE) {
		walk_error_msg(&r->w, e, "changed during the walk (renamed?)");
		goto out;
	}
	if (rr < 0) {
		loc_error(r, l, "read xattrs", -rr);
		goto out;
	}
	extra = extras_move(r, &orig, &acl_un, &cap_un);
	if (un || acl_un || cap_un) {
		c->c.unmappable++;
		report_unmappable(r, l, &orig, acl_un, cap_un);
	}
	if (u == orig.uid && g == orig.gid && !extra) {
		c->c.correct++;
		goto out;
	}
	count_pair(c, orig.uid, orig.gid, u, g);
	if (r->o->verbose || (r->o->dry_run && !r->o->json && !r->o->quiet))
		report_change(r, l, &orig, u, g, extra);
	if (r->o->dry_run) {
		c->c.changed++;
		dry_run_extras(c, &orig, u, g);
		goto out;
	}
	if (note_gen(r, e, l, &orig) < 0)
		goto out;
	if (apply_queue(c, l, &orig, &e->stx) < 0) {
		loc_error(r, l, "queue", ENOMEM);
		atomic_store(&r->w.stop, true);
	}
out:
	free(bufs[0]);
	free(bufs[1]);
	free(bufs[2]);
}

void plan_visit(void *arg, const struct walk_entry *e)
{
	struct ctx *c = arg;
	struct run *r = c->run;
	struct journal_entry jo;
	struct loc l;

	if (atomic_load(&r->fatal))
		return;
	loc_of(e, &l);
	if (r->jl &&
	    journal_lookup(r->jl, walk_stx_dev(&e->stx), e->stx.stx_ino, &jo)) {
		/* Journalled by an earlier, interrupted run (resume) or the
		 * run being undone: work from the recorded original. */
		c->c.matched++;
		journalled_inode(c, &l, &jo);
		return;
	}
	if (r->o->mode == RW_UNDO)
		return;
	plan_fresh(c, e, &l);
}
