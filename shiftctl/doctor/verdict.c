/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The verdicts: each entry as it would look under each scenario (as it
 * is, an owner-mode mount, an in-place chown, a shift of every owner),
 * judged by the kernel's rules (access.h) for USER's credentials; the
 * failures counted per scenario and per owner seen, with a few sample
 * reasons, and the entries to list handed to the verb's listener.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "doctor_int.h"

#define MAX_LISTED 10000

/* The entry as it would look under scenario sc. */
static void transform(const struct doctor *dr, int sc, const struct node *in,
		      struct node *out)
{
	size_t i;

	out->ino = in->ino;
	if (in->ino.acl) {
		memcpy(out->acl, in->acl, in->ino.acl_n * sizeof(in->acl[0]));
		out->ino.acl = out->acl;
	}
	if (sc == SC_ASIS || sc == SC_KEEPID || sc == SC_REMOUNT ||
	    sc == SC_CALLER)
		return;
	if (sc == SC_SHIFT) {
		/* shiftctl shift: every owner taken as a container id. */
		uint32_t k;

		if (idmap_to_view(&dr->maps.uid, in->ino.uid, &k) == 0)
			out->ino.uid = k;
		if (idmap_to_view(&dr->maps.gid, in->ino.gid, &k) == 0)
			out->ino.gid = k;
		for (i = 0; out->ino.acl && i < out->ino.acl_n; i++) {
			struct access_acl_entry *e = &out->acl[i];

			if (e->tag == ACCESS_ACL_USER &&
			    idmap_to_view(&dr->maps.uid, e->id, &k) == 0)
				e->id = k;
			else if (e->tag == ACCESS_ACL_GROUP &&
				 idmap_to_view(&dr->maps.gid, e->id, &k) == 0)
				e->id = k;
		}
		return;
	}
	if (sc == SC_MOUNT) {
		/* Owner mode: host owner H shown as USER's host ids, every
		 * other owner unmapped: shown as the overflow id, matching
		 * nobody. */
		out->ino.uid = in->ino.uid == dr->h_uid ? dr->k_uid
							: ACCESS_ID_INVALID;
		out->ino.gid = in->ino.gid == dr->h_gid ? dr->k_gid
							: ACCESS_ID_INVALID;
	} else {
		out->ino.uid = dr->k_uid;
		out->ino.gid = dr->k_gid;
	}
	for (i = 0; out->ino.acl && i < out->ino.acl_n; i++) {
		struct access_acl_entry *e = &out->acl[i];

		if (e->tag == ACCESS_ACL_USER)
			e->id = e->id == dr->h_uid ? dr->k_uid
				: sc == SC_MOUNT   ? ACCESS_ID_INVALID
						   : e->id;
		else if (e->tag == ACCESS_ACL_GROUP)
			e->id = e->id == dr->h_gid ? dr->k_gid
				: sc == SC_MOUNT   ? ACCESS_ID_INVALID
						   : e->id;
	}
}

static void judge(const struct doctor *dr, int sc, const struct node *n,
		  const struct node *parent, bool reachable, struct verdict *v)
{
	const struct access_inode *ino = &n->ino;
	bool dir = S_ISDIR(ino->mode), lnk = S_ISLNK(ino->mode);
	unsigned need = dr->need;
	/* keep-id changes who USER is on the host; a remount, the flag */
	const struct access_cred *cred = sc == SC_KEEPID   ? &dr->keep_cred
					 : sc == SC_CALLER ? &dr->caller_cred
							   : &dr->cred;
	bool rofs = dr->rofs && sc != SC_REMOUNT;

	memset(v, 0, sizeof(*v));
	v->is_dir = dir;
	v->reachable = reachable;
	v->del = 1;
	if (lnk) {
		/* The kernel never checks a symlink's own mode. */
		v->read = v->write = v->exec = true;
	} else {
		v->read = access_permission(ino, cred, ACCESS_R, &v->rr) == 0;
		v->write =
			access_permission(ino, cred,
					  dir ? ACCESS_W | ACCESS_X : ACCESS_W,
					  &v->wr) == 0;
		v->exec = access_permission(ino, cred, ACCESS_X, &v->xr) == 0;
		if (rofs)
			v->write = false;
		if (dr->noexec && !dir)
			v->exec = false;
	}
	if (parent) {
		v->del = access_may_delete(&parent->ino, ino, cred, &v->dr);
		if (!v->del && rofs)
			v->del = -EROFS;
	}

	v->ok = reachable;
	if (need & ACCESS_R)
		v->ok = v->ok && v->read && (!dir || v->exec);
	if (need & ACCESS_W) {
		v->ok = v->ok && v->write;
		/* Failures of the directory's own w+x are counted on the
		 * directory; here only the sticky bit. */
		if (v->del == -EPERM)
			v->ok = false;
	}
	if (need & ACCESS_X)
		v->ok = v->ok && v->exec;
	if (!v->ok) {
		const struct access_result *rs[] = {&v->rr, &v->wr, &v->xr};
		/* Only the checks the verdict needed: a file's missing x
		 * bit is no cause when USER needs only rw. */
		bool used[] = {need & ACCESS_R, need & ACCESS_W,
			       (need & ACCESS_X) || (dir && (need & ACCESS_R))};
		size_t i;

		for (i = 0; i < 3; i++) {
			if (!rs[i]->err || !used[i])
				continue;
			if (rs[i]->cls == ACCESS_CLASS_OWNER)
				v->owner_bits = true;
			if (rs[i]->mask_denied)
				v->mask = true;
		}
	}
}

/* Reasons for an ASIS verdict, one string each, into arr/cb. */
void doctor_reasons(const struct doctor *dr, const struct verdict *v,
		    void (*cb)(void *ctx, const char *what, const char *why),
		    void *ctx)
{
	char buf[400];
	unsigned need = dr->need;

	if (!v->reachable)
		cb(ctx, "reach",
		   "a directory above it cannot be searched (x) by USER");
	if ((need & ACCESS_R) && !v->read) {
		access_explain(&v->rr, ACCESS_R, buf, sizeof(buf));
		cb(ctx, "read", buf);
	}
	if ((need & ACCESS_R) && v->is_dir && !v->exec) {
		access_explain(&v->xr, ACCESS_X, buf, sizeof(buf));
		cb(ctx, "search", buf);
	}
	if ((need & ACCESS_W) && !v->write) {
		if (dr->rofs)
			bfmt(buf, sizeof(buf),
			     "the filesystem is mounted read-only");
		else
			access_explain(&v->wr,
				       v->is_dir ? ACCESS_W | ACCESS_X
						 : ACCESS_W,
				       buf, sizeof(buf));
		cb(ctx, "write", buf);
	}
	if ((need & ACCESS_W) && v->del == -EPERM) {
		access_explain(&v->dr, ACCESS_W, buf, sizeof(buf));
		cb(ctx, "delete", buf);
	}
	if ((need & ACCESS_X) && !v->exec && !v->is_dir) {
		if (dr->noexec)
			bfmt(buf, sizeof(buf),
			     "the filesystem is mounted noexec");
		else
			access_explain(&v->xr, ACCESS_X, buf, sizeof(buf));
		cb(ctx, "exec", buf);
	}
}

struct text_ctx {
	char *buf;
	size_t len;
};

static void reason_text(void *ctx, const char *what, const char *why)
{
	struct text_ctx *t = ctx;
	size_t used = strlen(t->buf);

	bfmt(t->buf + used, t->len - used, "%s%s: %s", used ? "; " : "", what,
	     why);
}

static struct owner_stat *owner_of(struct doctor *dr, uint32_t uid,
				   uint32_t gid)
{
	size_t i;

	for (i = 0; i < dr->nowners; i++)
		if (dr->owners[i].uid == uid && dr->owners[i].gid == gid)
			return &dr->owners[i];
	if (dr->nowners == MAX_OWNERS)
		return &dr->other_owners;
	dr->owners[dr->nowners].uid = uid;
	dr->owners[dr->nowners].gid = gid;
	return &dr->owners[dr->nowners++];
}

static void record(struct doctor *dr, const char *rel, const struct stat *st,
		   const struct node *n, const struct verdict *v)
{
	struct owner_stat *os = owner_of(dr, st->st_uid, st->st_gid);

	os->entries++;
	if (!v->reachable)
		os->unreachable++;
	if ((dr->need & ACCESS_R) && (!v->read || (v->is_dir && !v->exec)))
		os->no_read++;
	if ((dr->need & ACCESS_W) && !v->write)
		os->no_write++;
	if ((dr->need & ACCESS_W) && v->del == -EPERM)
		os->no_delete++;
	if ((dr->need & ACCESS_X) && !v->exec)
		os->no_exec++;
	if (!v->ok) {
		os->not_ok++;
		if (os->nsamples < MAX_SAMPLES) {
			char why[1200] = "";
			struct text_ctx t = {why, sizeof(why)};
			char *s;
			size_t len;

			doctor_reasons(dr, v, reason_text, &t);
			len = strlen(rel) + strlen(why) + 8;
			s = malloc(len);
			if (!s)
				die(EXIT_FAIL, "out of memory");
			bfmt(s, len, "%s: %s", rel, why);
			os->samples[os->nsamples++] = s;
		}
	}
	if (!dr->list_entry || dr->list_none || (v->ok && !dr->list_all))
		return;
	if (dr->listed >= MAX_LISTED && !dr->list_all)
		return;
	dr->listed++;
	dr->list_entry(dr->list_ctx, dr, rel, st, &n->ino, v);
}

/* Judge one entry under all scenarios, count the failures, record it. */
void judge_entry(struct doctor *dr, const char *rel, const struct stat *st,
		 const struct node *base, const struct level *parent,
		 struct level *self)
{
	struct verdict v[NSCEN];
	int sc;

	for (sc = 0; sc < NSCEN; sc++) {
		transform(dr, sc, base, &self->n[sc]);
		judge(dr, sc, &self->n[sc], parent ? &parent->n[sc] : NULL,
		      parent ? parent->reach[sc] : true, &v[sc]);
		self->reach[sc] =
			(parent ? parent->reach[sc] : true) && v[sc].exec;
		/* A user's FUSE daemon is the caller on the disk. */
		if (sc == SC_CALLER && geteuid() != 0 && !v[SC_CALLER].ok &&
		    v[SC_MOUNT].ok) {
			v[SC_MOUNT].ok = false;
			dr->failed[SC_MOUNT]++;
		}
		if (sc == SC_CALLER && geteuid() != 0)
			self->reach[SC_MOUNT] =
				self->reach[SC_MOUNT] && self->reach[SC_CALLER];
		if (!v[sc].ok) {
			dr->failed[sc]++;
			if (v[sc].owner_bits)
				dr->fail_owner_bits[sc]++;
			if (v[sc].mask)
				dr->fail_mask[sc]++;
		}
	}
	record(dr, rel, st, &self->n[SC_ASIS], &v[SC_ASIS]);
}
