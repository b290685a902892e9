/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Applying, after systemd's nspawn-patch-uid.c patch_fd(): each batch of
 * queued inodes is journalled (fdatasync'd) before any of it changes; then
 * per inode, through its checked fd, fchownat(AT_SYMLINK_NOFOLLOW), the
 * file capability put back with its root id moved like the owner, named
 * ACL entries shifted with libacl (copying the ACL only when an entry
 * changes, default ACLs of directories too) and the setuid/setgid bits
 * the chown cleared restored. Modes, timestamps and other xattrs are not
 * touched.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/acl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <acl/libacl.h>
#include <linux/capability.h>
#include <linux/posix_acl.h>

#include "acl_xattr.h"
#include "fcaps_xattr.h"
#include "progress.h"
#include "rewrite_int.h"
#include "shiftctl.h"

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

static void write_afters(struct ctx *c)
{
	struct run *r = c->run;
	char num[32];
	int rr;

	if (!c->nafters || !r->j)
		return;
	rr = journal_write_after(r->j, c->afters, c->nafters);
	if (rr < 0)
		/* engine output: a warning, when it happens */
		warn("journal %s: cannot record the state of %s setuid/"
		     "setgid or capability inodes: %s",
		     journal_path(r->j), fmt_count(c->nafters, num),
		     strerror(-rr));
	c->nafters = 0;
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
	/* On disk before the next inode changes: the window in which a
	 * crash leaves a privileged inode without its record is this one. */
	write_afters(c);
}

/*
 * Bring the inode t (checked to be the one orig describes) from its
 * original metadata orig to the run's result: owner f(orig), caps f(orig
 * caps), ACLs f(orig ACLs), mode orig. Works from any intermediate state a
 * crash can leave (resume). Every change goes through t's fd.
 */
void apply_forward(struct ctx *c, const struct loc *l,
		   const struct journal_entry *orig, const struct target *t)
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
			t.stx.stx_nlink != p->nlink ||
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

void apply_flush(void *arg)
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
			/* engine output: the journal error that stops the run
			 */
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

int apply_queue(struct ctx *c, const struct loc *l,
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
	p->nlink = stx->stx_nlink;
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
		apply_flush(c);
	return 0;
}
