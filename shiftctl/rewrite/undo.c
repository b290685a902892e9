/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Working from a journal (resume and undo): an inode the journal knows is
 * changed only when it provably is the inode the run changed, in a state
 * the run (or a crash) left it in; undo puts back exactly what the journal
 * recorded. rewrite_undo() finds and loads the journal and walks its tree.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "acl_xattr.h"
#include "fcaps_xattr.h"
#include "progress.h"
#include "rewrite_int.h"
#include "shiftctl.h"

/* The setuid/setgid bits the kernel clears when a regular file's owner
 * changes: S_ISUID, and S_ISGID when group-executable. */
static uint32_t chown_cleared(uint32_t mode)
{
	return S_ISUID | ((mode & S_IXGRP) ? S_ISGID : 0);
}

/*
 * Put back exactly what the journal recorded on t (undo); with dry, only
 * count what would be put back, as the real run counts it (its chown
 * drops a regular file's capability and setuid bits first). An inode
 * already as recorded counts as correct.
 */
static void apply_undo(struct ctx *c, const struct loc *l,
		       const struct journal_entry *orig, const struct target *t,
		       bool dry)
{
	const struct statx *stx = &t->stx;
	struct run *r = c->run;
	bool owner = stx->stx_uid != orig->uid || stx->stx_gid != orig->gid;
	bool dropped = owner && dry && S_ISREG(stx->stx_mode);
	bool did = false;
	struct stat st;
	uint32_t mode;
	int fd = t->fd, rr, k;

	if (owner) {
		if (!dry)
			walk_test_step();
		if (!dry && fchownat(fd, "", orig->uid, orig->gid,
				     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
			loc_error(r, l, "chown", errno);
			return;
		}
		c->c.changed++;
		did = true;
	}
	if (S_ISLNK(stx->stx_mode))
		goto out;
	/* Only what a chown can have changed besides the owner needs a look. */
	if (!orig->caps_len && !orig->acl_access_len &&
	    !orig->acl_default_len && !(orig->mode & (S_ISUID | S_ISGID)) &&
	    (stx->stx_mode & 07777) == (orig->mode & 07777))
		goto out;
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
		if (k == 0 && dropped) {
			c->c.caps_restored++;
			did = true;
			continue;
		}
		rr = fd_getxattr(fd, names[k], &cur, &clen);
		if (rr == 0 && !same_blob(cur, clen, ob, olen)) {
			if (!dry)
				rr = fd_setxattr(fd, names[k], ob, olen);
			if (rr == 0 && k == 0)
				c->c.caps_restored++;
			else if (rr == 0)
				c->c.acl_changed++;
			did |= rr == 0;
		}
		free(cur);
		if (rr < 0)
			loc_error(r, l, names[k], -rr);
	}
	if (fstat(fd, &st) < 0)
		goto out;
	mode = (uint32_t)st.st_mode;
	if (dropped)
		mode &= ~chown_cleared(mode);
	if ((mode & 07777) != (orig->mode & 07777)) {
		rr = dry ? 0 : set_mode(fd, orig->mode);
		if (rr < 0)
			loc_error(r, l, "restore mode", -rr);
		else if (orig->mode & (S_ISUID | S_ISGID))
			c->c.setid_restored++;
		did |= rr == 0;
	}
out:
	if (!did)
		c->c.correct++;
}

/* A journalled inode left as it is: say why (the first few). */
static void skipped(struct ctx *c, const struct loc *l, const char *why)
{
	struct run *r = c->run;
	char p[PATH_MAX * 2];

	c->c.skipped_changed++;
	if (r->o->quiet ||
	    atomic_fetch_add(&r->reported, 1) >= REWRITE_REPORT_MAX)
		return;
	loc_path(l, p, sizeof(p));
	pthread_mutex_lock(&r->out_lock);
	r->o->report->skipped(p, why);
	pthread_mutex_unlock(&r->out_lock);
}

/* An inode the journal knows (resume, undo): only when it provably is the
 * inode the run changed, in a state the run (or a crash) left it in. */
void journalled_inode(struct ctx *c, const struct loc *l,
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
	js = plan_judge(r, jo, &t, &why);
	if (js == JS_CHANGED) {
		skipped(c, l, why);
	} else if (r->o->mode == RW_UNDO) {
		struct journal_entry cur = *jo;

		cur.uid = t.stx.stx_uid;
		cur.gid = t.stx.stx_gid;
		if (r->o->dry_run && !r->o->json && !r->o->quiet &&
		    (cur.uid != jo->uid || cur.gid != jo->gid))
			report_change(r, l, &cur, jo->uid, jo->gid, false);
		apply_undo(c, l, jo, &t, r->o->dry_run);
	} else if (r->o->dry_run) {
		c->c.changed++;
	} else {
		apply_forward(c, l, jo, &t);
	}
	target_close(&t);
}

void check_tree(const struct journal_loaded *jl, const struct statx *stx,
		const char *path)
{
	if (walk_stx_dev(stx) != jl->p.root_dev ||
	    stx->stx_ino != jl->p.root_ino)
		/* engine output: dies (exit 1) before anything changed */
		die(EXIT_FAIL,
		    "%s: journal %s belongs to another tree (%s, device %llx "
		    "inode %llu)",
		    path, jl->path, jl->p.root_path,
		    (unsigned long long)jl->p.root_dev,
		    (unsigned long long)jl->p.root_ino);
}

struct journal_loaded *load_or_die(const char *file)
{
	struct journal_loaded *jl = malloc(sizeof(*jl));
	char err[PATH_MAX + 128];

	if (!jl)
		/* engine output: dies (exit 1) before anything changed */
		die(EXIT_FAIL, "%s", strerror(ENOMEM));
	if (journal_load(file, jl, err, sizeof(err)) < 0)
		/* engine output: dies (exit 1) before anything changed */
		die(EXIT_FAIL, "cannot read journal %s: %s", file, err);
	return jl;
}

/* --resume without a JOURNAL: the newest unfinished journal of PATH. */
static void resume_find(const char *path, const struct rewrite_opts *o,
			char *found, size_t len)
{
	char dir[PATH_MAX], real[PATH_MAX];
	struct statx s2;
	int rr;

	close(rewrite_resolve(path, &s2, real, sizeof(real)));
	rr = journal_default_dir(dir, sizeof(dir));
	if (rr == 0)
		rr = journal_find(dir, o->p.verb, walk_stx_dev(&s2), s2.stx_ino,
				  true, found, len);
	if (rr < 0)
		/* engine output: dies (exit 1) before anything changed */
		die(EXIT_FAIL,
		    "%s: no unfinished %s journal for this "
		    "tree "
		    "in %s",
		    path, rewrite_mode_name(o), dir);
}

int resume_open(const char **path, struct rewrite_opts *o, struct run *r,
		struct statx *stx)
{
	char found[PATH_MAX], real[PATH_MAX];
	const char *file = o->resume_file;
	int fd, rr;

	if (!file) {
		resume_find(*path, o, found, sizeof(found));
		file = found;
	}
	r->jl = load_or_die(file);
	if (r->jl->p.verb != o->p.verb)
		/* engine output: dies (exit 1) before anything changed */
		die(EXIT_FAIL, "journal %s is from shiftctl %s, not %s", file,
		    r->jl->p.verb == JOURNAL_SHIFT ? "shift" : "chown",
		    rewrite_mode_name(o));
	o->p = r->jl->p;
	need_privilege(o);
	if (!*path)
		*path = r->jl->p.root_path;
	fd = rewrite_open_tree(*path, o, stx, real, sizeof(real));
	check_tree(r->jl, stx, *path);
	if (r->jl->done || r->jl->undone) {
		/* Engine output kept here: the run's outcome, as before. */
		printf("%s: journal %s: the run was already %s\n",
		       rewrite_mode_name(o), r->jl->path,
		       r->jl->undone ? "undone" : "completed");
		journal_unload(r->jl);
		free(r->jl);
		r->jl = NULL;
		close(fd);
		return -1;
	}
	if (!o->dry_run) {
		rr = journal_reopen(r->jl, &r->j);
		if (rr < 0)
			/* engine output: dies (exit 1) before anything changed
			 */
			die(EXIT_FAIL, "cannot reopen journal %s: %s",
			    r->jl->path, strerror(-rr));
		/* Engine output kept here (which journal, on stderr). */
		fprintf(stderr, "%s: resuming with journal: %s\n", program_name,
			r->jl->path);
	}
	return fd;
}

/*
 * Undo of a journal that is marked undone (given, or the newest of PATH's
 * when every one is): nothing is walked or changed; say so, exit 0.
 */
static int already_undone(const struct rewrite_opts *o, const char *path,
			  const char *journal)
{
	struct json_object *j;

	if (o->json) {
		j = json_object_new_object();
		json_object_object_add(j, "verb",
				       json_object_new_string("undo"));
		json_object_object_add(
			j, "path", path ? json_object_new_string(path) : NULL);
		json_object_object_add(j, "journal",
				       json_object_new_string(journal));
		json_object_object_add(j, "already_undone",
				       json_object_new_boolean(1));
		json_print(j);
		return EXIT_OK;
	}
	/* Engine output kept here: the run's outcome, as resume's. */
	if (path)
		printf("undo: %s: nothing to undo: every journal of this tree "
		       "was already undone (the newest: %s)\n",
		       path, journal);
	else
		printf("undo: journal %s: the run was already undone; nothing "
		       "to do\n",
		       journal);
	return EXIT_OK;
}

/* One straight sequence (find, load, check, walk, mark undone): ~60 lines
 * with the comments on the marking, kept whole. */
int rewrite_undo(const char *arg, struct rewrite_opts *o)
{
	struct run r = {.o = o};
	struct journal *j = NULL;
	struct statx stx;
	char real[PATH_MAX], found[PATH_MAX], dir[PATH_MAX];
	const char *file = arg;
	char num[32];
	struct stat st;
	int fd, code, rr;

	if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(rewrite_resolve(arg, &stx, real, sizeof(real)));
		rr = journal_default_dir(dir, sizeof(dir));
		if (rr == 0)
			rr = journal_find(dir, 0, walk_stx_dev(&stx),
					  stx.stx_ino, false, found,
					  sizeof(found));
		if (rr == -EALREADY)
			return already_undone(o, arg, found);
		if (rr < 0)
			/* engine output: dies (exit 1) before anything changed
			 */
			die(EXIT_FAIL, "%s: no journal for this tree in %s",
			    arg, dir);
		file = found;
	}
	r.jl = load_or_die(file);
	if (r.jl->undone) {
		code = already_undone(o, NULL, r.jl->path);
		journal_unload(r.jl);
		free(r.jl);
		return code;
	}
	o->p = r.jl->p;
	need_privilege(o);
	fd = rewrite_open_tree(r.jl->p.root_path, o, &stx, real, sizeof(real));
	check_tree(r.jl, &stx, r.jl->p.root_path);
	if (!o->quiet && !o->json)
		/* engine output: which journal (stderr) */
		fprintf(stderr, "%s: undoing with journal: %s (%s inodes)\n",
			program_name, r.jl->path,
			fmt_count(r.jl->nentries, num));
	rr = o->dry_run ? 0 : journal_reopen(r.jl, &j);
	code = rewrite_walk(&r, fd, &stx, r.jl->p.root_path);
	/* Marked undone when nothing failed (what was skipped would be
	 * skipped again); an unmarked journal could be --resume'd later. */
	if (!o->dry_run && !atomic_load(&r.w.errors) &&
	    !atomic_load(&r.w.stop)) {
		if (rr == 0)
			rr = journal_mark_undone(j);
		if (rr < 0) {
			/* engine output: the journal could not be marked undone
			 */
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
