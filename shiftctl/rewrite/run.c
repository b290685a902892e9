/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One run of chown or shift (rewrite_run()): the checks on PATH and on the
 * journal's place, the journal created (or, for --resume, loaded), the
 * threaded walk with plan.c's visit and apply.c's flush, the counters
 * merged into the summary, and the journal marked done.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdnoreturn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "fdpath.h"
#include "progress.h"
#include "rewrite_int.h"
#include "shiftctl.h"
#include "syspath.h"

_Static_assert(REWRITE_MAX_THREADS == WALK_MAX_THREADS,
	       "--threads is checked against the walk's limit");

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

/* Giving files to other users takes CAP_CHOWN: say so once, up front,
 * rather than once per inode. */
void need_privilege(const struct rewrite_opts *o)
{
	if (o->dry_run || geteuid() == 0)
		return;
	if (o->mode == RW_CHOWN && o->p.uid == geteuid() &&
	    o->p.gid == getegid())
		return;
	/* engine output: dies (exit 1) before anything changed */
	die(EXIT_FAIL,
	    "%s: changing owners to other ids needs root "
	    "(CAP_CHOWN); --dry-run works unprivileged",
	    rewrite_mode_name(o));
}

/*
 * PATH made absolute by the text alone: the current directory (getcwd(),
 * which has no symlinks) before a relative PATH, "." and empty components
 * dropped, ".." taking one component off. Equal to realpath() exactly when
 * no symlink is on the way.
 */
static int lexical_abs(const char *path, char *out, size_t len)
{
	char buf[PATH_MAX * 2];
	size_t o = 0;
	char *save = NULL, *c;

	if (path[0] == '/')
		buf[0] = '\0';
	else if (!getcwd(buf, PATH_MAX))
		return -errno;
	if (strlen(buf) + strlen(path) + 2 > sizeof(buf))
		return -ENAMETOOLONG;
	strcat(buf, "/");
	strcat(buf, path);
	out[0] = '\0';
	for (c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, "."))
			continue;
		if (!strcmp(c, "..")) {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			out[o] = '\0';
			continue;
		}
		if (o + strlen(c) + 2 > len)
			return -ENAMETOOLONG;
		out[o++] = '/';
		strcpy(out + o, c);
		o += strlen(c);
	}
	if (!o)
		snprintf(out, len, "/");
	return 0;
}

/* Dies: PATH changed between its resolution and its opening. */
static noreturn void path_changed(const char *path)
{
	/* engine output: dies (exit 1) before anything changed */
	die(EXIT_FAIL,
	    "%s changed while it was being resolved (a symlink or a rename "
	    "on its path): refusing to change it",
	    path);
}

/*
 * Resolve PATH once, to an fd: PATH may hold no symlink at all (its last
 * component or a directory on the way, which whoever can write that
 * directory could point anywhere); realpath() of it is opened with
 * openat2(RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS) and the fd's own
 * path (/proc/self/fd/N) must still be that string (mount's
 * fdpath_open()). real gets it; the walk, the refusals and the journal
 * use only the fd and real. Dies on anything else.
 */
int rewrite_resolve(const char *path, struct statx *stx, char *real,
		    size_t rlen)
{
	char lex[PATH_MAX], via[64];
	struct statx l, s2;
	int fd, dfd, rr;

	if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_TYPE, &l) == 0 &&
	    S_ISLNK(l.stx_mode))
		/* engine output: dies (exit 1) before anything changed */
		die(EXIT_FAIL, "%s: is a symbolic link (give the real path)",
		    path);
	if (rlen < PATH_MAX || !realpath(path, real))
		/* engine output: dies (exit 1) before anything changed */
		die(EXIT_FAIL, "%s: %s", path,
		    strerror(rlen < PATH_MAX ? ENAMETOOLONG : errno));
	rr = lexical_abs(path, lex, sizeof(lex));
	if (rr < 0)
		/* engine output: dies (exit 1) before anything changed */
		die(EXIT_FAIL, "%s: %s", path, strerror(-rr));
	if (strcmp(lex, real))
		/* engine output: dies (exit 1) before anything changed */
		die(EXIT_FAIL,
		    "%s: a symbolic link on the way (it resolves to %s): "
		    "give the real path",
		    path, real);
	fd = fdpath_open(real, 0);
	if (fd == -ELOOP || fd == -ESTALE || fd == -ENOENT || fd == -EXDEV)
		path_changed(path);
	if (fd < 0)
		/* engine output: dies (exit 1) before anything changed */
		die(EXIT_FAIL, "%s: %s", path, strerror(-fd));
	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, ROOT_STATX,
		  stx) < 0)
		/* engine output: dies (exit 1) before anything changed */
		die(EXIT_FAIL, "%s: %s", path, strerror(errno));
	if (!S_ISDIR(stx->stx_mode))
		return fd;
	/* A directory is read: reopen the very inode through its fd. */
	snprintf(via, sizeof(via), "/proc/self/fd/%d", fd);
	dfd = open(via, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		/* engine output: dies (exit 1) before anything changed */
		die(EXIT_FAIL, "%s: %s", path, strerror(errno));
	if (statx(dfd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, ROOT_STATX,
		  &s2) < 0 ||
	    s2.stx_ino != stx->stx_ino ||
	    walk_stx_dev(&s2) != walk_stx_dev(stx))
		path_changed(path);
	close(fd);
	*stx = s2;
	return dfd;
}

/* Open PATH as the tree's root and refuse what must not be changed. */
int rewrite_open_tree(const char *path, struct rewrite_opts *o,
		      struct statx *stx, char *real, size_t rlen)
{
	const char *why;
	int fd;

	fd = rewrite_resolve(path, stx, real, rlen);
	if (!S_ISDIR(stx->stx_mode) && o->mode == RW_SHIFT)
		/* engine output: dies (exit 1) before anything changed */
		die(EXIT_FAIL, "%s: not a directory", path);
	/* The same refusal for undo: a journal names the tree it changes. */
	if (!o->force && (why = syspath_why(real)))
		/* engine output: dies (exit 1) before anything changed */
		die(EXIT_FAIL, "%s: refusing to change %s (--force to insist)",
		    real, why);
	why = walk_fs_refusal(fd);
	if (why && (strcmp(why, "read-only") || !o->dry_run))
		/* engine output: dies (exit 1) before anything changed */
		die(EXIT_FAIL, "%s: on a %s filesystem, nothing to change",
		    real, why);
	/* One rewrite of a tree at a time (released at exit). */
	if (!o->dry_run && S_ISDIR(stx->stx_mode) &&
	    flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK)
		/* engine output: dies (exit 1) before anything changed */
		die(EXIT_FAIL, "%s: another shiftctl is changing this tree",
		    real);
	return fd;
}

/* ---- running ---- */

static void sum_counters(struct ctx *cs, int n, struct rewrite_counts *t)
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
	const struct rewrite_pair *x = a, *y = b;

	return x->n < y->n ? 1 : x->n > y->n ? -1 : 0;
}

/* Merge the per-thread owner pair counts into *out (sorted, n returned). */
static size_t merge_pairs(struct ctx *cs, int n, struct rewrite_pair **out)
{
	struct rewrite_pair *all = NULL;
	size_t na = 0, cap = 0, i, k;
	int t;

	for (t = 0; t < n; t++)
		for (i = 0; i < cs[t].npairs; i++) {
			struct rewrite_pair *p = &cs[t].pairs[i];

			for (k = 0; k < na; k++)
				if (all[k].ou == p->ou && all[k].og == p->og &&
				    all[k].nu == p->nu && all[k].ng == p->ng)
					break;
			if (k < na) {
				all[k].n += p->n;
				continue;
			}
			if (na == cap) {
				struct rewrite_pair *nall;

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

const char *rewrite_mode_name(const struct rewrite_opts *o)
{
	return o->mode == RW_UNDO    ? "undo"
	       : o->mode == RW_SHIFT ? "shift"
				     : "chown";
}

/* Hand the walk's result to the verb layer's summary. */
static void report_summary(struct run *r, struct ctx *cs,
			   const struct rewrite_counts *t, double elapsed,
			   const char *path)
{
	struct rewrite_result res = {
		.o = r->o,
		.path = path,
		.journal = r->journal_removed ? NULL
			   : r->j	      ? journal_path(r->j)
			   : r->jl	      ? r->jl->path
					      : NULL,
		.from_journal = r->jl != NULL,
		.journalled = r->jl ? r->jl->nentries : 0,
		.visited = atomic_load(&r->w.visited),
		.hardlinks = atomic_load(&r->w.hardlinks),
		.mounts_skipped = atomic_load(&r->w.mounts_skipped),
		.errors = atomic_load(&r->w.errors),
		.links_outside = atomic_load(&r->w.links_outside),
		.t = t,
		.elapsed = elapsed,
	};
	struct rewrite_pair *pairs;

	res.npairs = merge_pairs(cs, r->w.nthreads, &pairs);
	res.pairs = pairs;
	r->o->report->summary(&res);
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

/* The walk of a run: n workers, plan.c's visit and apply.c's flush. */
static void setup_walk(struct run *r, const char *path, int n, void **ctxp)
{
	struct rewrite_opts *o = r->o;

	r->w.root_path = path;
	r->w.cross_mounts = o->p.flags & JF_CROSS_MOUNTS;
	r->w.nthreads = n;
	r->w.ctx = ctxp;
	r->w.ops = (struct walk_ops){plan_visit, apply_flush};
	r->w.quiet = o->quiet;
	/* chown, shift, --resume: a file with a link outside PATH is another
	 * tree's too (undo gives back only what a run took). */
	r->w.links_inside = o->mode != RW_UNDO;
	r->w.visit_once =
		o->p.verb == JOURNAL_SHIFT &&
		(map_overlaps(&o->p.maps.uid) || map_overlaps(&o->p.maps.gid));
	pthread_mutex_init(&r->out_lock, NULL);
}

/* Walk the tree at fd with r set up; returns the exit code. */
int rewrite_walk(struct run *r, int fd, const struct statx *stx,
		 const char *path)
{
	struct rewrite_opts *o = r->o;
	struct ctx cs[WALK_MAX_THREADS];
	void *ctxp[WALK_MAX_THREADS];
	struct rewrite_counts t;
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
			/* engine output: dies (exit 1) before anything changed
			 */
			die(EXIT_FAIL, "%s", strerror(ENOMEM));
		ctxp[i] = &cs[i];
	}
	setup_walk(r, path, n, ctxp);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* engine output: the progress display (progress.h) */
	progress_start(estimate(fd, stx), o->quiet || o->json);
	rr = walk_run(&r->w, fd, stx);
	progress_finish();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	el = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (rr < 0)
		/* engine output: dies (exit 1) before anything changed */
		die(EXIT_FAIL, "%s: %s", path, strerror(-rr));
	sum_counters(cs, n, &t);
	if (r->j && !r->jl && !atomic_load(&r->fatal) &&
	    !journal_batches(r->j)) {
		/* Nothing changed: a journal with nothing to undo is noise. */
		unlink(journal_path(r->j));
		r->journal_removed = true;
	}
	if (!atomic_load(&r->fatal))
		report_summary(r, cs, &t, el, path);
	for (i = 0; i < n; i++) {
		free(cs[i].batch);
		free(cs[i].pairs);
		free(cs[i].afters);
	}
	r->skipped_changed = t.skipped_changed;
	if (atomic_load(&r->fatal) || atomic_load(&r->w.errors) ||
	    t.skipped_changed || atomic_load(&r->w.links_outside))
		return EXIT_FAIL;
	if (o->strict && t.unmappable)
		return EXIT_FAIL;
	return EXIT_OK;
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
			/* engine output: dies (exit 1) before anything changed
			 */
			die(EXIT_FAIL,
			    "cannot create the journal directory %s: %s "
			    "(use --journal=FILE)",
			    dir, strerror(-rr));
		journal_default_name(dir, &o->p, file, sizeof(file));
	}
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		/* engine output: dies (exit 1) before anything changed */
		die(EXIT_FAIL, "journal directory %s: %s", dir,
		    strerror(errno ? errno : ENOTDIR));
	if (inside_tree(dir, o->p.root_dev, o->p.root_ino))
		/* engine output: dies (exit 1) before anything changed */
		die(EXIT_FAIL,
		    "journal %s would be inside the tree %s: put it elsewhere",
		    file, real);
	rr = journal_create(file, &o->p, &j, err, sizeof(err));
	if (rr < 0)
		/* engine output: dies (exit 1) before anything changed */
		die(EXIT_FAIL, "cannot create journal %s: %s", file, err);
	/* engine output: which journal (stderr) */
	fprintf(stderr, "%s: journal: %s\n", program_name, file);
	return j;
}

/*
 * A fresh run: open PATH, with --strict a read-only pass first, then the
 * journal. The tree's fd, or -1 when --strict found ids without image
 * (said so, nothing changed).
 */
static int fresh_open(const char *path, struct rewrite_opts *o, struct run *r,
		      struct statx *stx)
{
	char real[PATH_MAX];
	int fd;

	need_privilege(o);
	fd = rewrite_open_tree(path, o, stx, real, sizeof(real));
	o->p.root_dev = walk_stx_dev(stx);
	o->p.root_ino = stx->stx_ino;
	snprintf(o->p.root_path, sizeof(o->p.root_path), "%s", real);
	if (o->strict && !o->dry_run) {
		/* A read-only pass first: fail before changing
		 * anything. */
		struct rewrite_opts pre = *o;
		struct run pr = {.o = &pre};

		pre.dry_run = pre.quiet = true;
		pre.json = false;
		pre.verbose = false;
		if (rewrite_walk(&pr, fd, stx, path) != EXIT_OK) {
			/* Engine output kept here: the run's outcome, as
			 * before. */
			fprintf(stderr,
				"%s: %s: some owners have no image "
				"under "
				"the map (--strict): nothing changed\n",
				program_name, path);
			close(fd);
			return -1;
		}
	}
	if (!o->dry_run)
		r->j = new_journal(o, real);
	return fd;
}

/* After the walk: mark the journal done, or say how to finish the run. */
static int finish_run(struct run *r, int code)
{
	struct rewrite_opts *o = r->o;
	char num[32];
	unsigned long long errors = atomic_load(&r->w.errors);
	unsigned long long links = atomic_load(&r->w.links_outside);
	int rr;

	/* Engine output kept here (the journal's fate, on stderr). */
	if (r->journal_removed) {
		if (!o->quiet && !o->json)
			fprintf(stderr,
				"%s: nothing changed, journal removed\n",
				program_name);
	} else if (r->j && !atomic_load(&r->fatal) &&
		   !atomic_load(&r->w.stop) && !errors && !links) {
		rr = journal_mark_done(r->j);
		if (rr < 0) {
			fprintf(stderr,
				"%s: cannot mark journal %s complete: %s\n",
				program_name, journal_path(r->j),
				strerror(-rr));
			code = EXIT_FAIL;
		}
	} else if (r->j && !atomic_load(&r->fatal) && !errors) {
		/* Not DONE either: once the outside links are gone (or the
		 * files are handled by hand), --resume finishes the run. */
		fprintf(stderr,
			"%s: %s: %s inode%s with hard links outside the "
			"tree left as %s: the run is not complete; when they "
			"are sorted out, finish it with: shiftctl %s "
			"--resume %s\n",
			program_name, rewrite_mode_name(o),
			fmt_count(links, num), links == 1 ? "" : "s",
			links == 1 ? "it is" : "they are", rewrite_mode_name(o),
			journal_path(r->j));
	} else if (r->j && !atomic_load(&r->fatal)) {
		/* Not DONE: --resume retries what failed. */
		fprintf(stderr,
			"%s: %s: %s error%s: the run is not complete; "
			"after fixing the cause, finish it with: shiftctl %s "
			"--resume %s\n",
			program_name, rewrite_mode_name(o),
			fmt_count(errors, num), errors == 1 ? "" : "s",
			rewrite_mode_name(o), journal_path(r->j));
	}
	return code;
}

int rewrite_run(const char *path, struct rewrite_opts *o)
{
	struct run r = {.o = o};
	struct statx stx;
	int fd, code;

	if (o->resume) {
		fd = resume_open(&path, o, &r, &stx);
		if (fd < 0)
			return EXIT_OK;
	} else {
		fd = fresh_open(path, o, &r, &stx);
		if (fd < 0)
			return EXIT_FAIL;
	}
	code = rewrite_walk(&r, fd, &stx, path);
	code = finish_run(&r, code);
	if (r.j)
		journal_close(r.j);
	if (r.jl) {
		journal_unload(r.jl);
		free(r.jl);
	}
	close(fd);
	return code;
}
