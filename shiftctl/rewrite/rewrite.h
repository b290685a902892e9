/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The engine behind shiftctl chown, shift and undo, and its whole
 * interface: a verb fills struct rewrite_opts (its parameters, the ones a
 * journal records, and how to report) and calls rewrite_run() or
 * rewrite_undo(). The engine walks the tree, decides each inode's new
 * owner (and ACL entries and file capability root id), journals the
 * originals before changing a batch, and restores the setuid/setgid bits
 * and security.capability that a chown clears.
 *
 * Errors that stop a run before the walk (a refused PATH, an unusable
 * journal) still end the process as shiftctl's top layer does (die(), exit
 * 1); see the comments at each in run.c and undo.c.
 */
#ifndef SHIFTCTL_REWRITE_H
#define SHIFTCTL_REWRITE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "idmap.h"

enum journal_verb { JOURNAL_CHOWN = 1, JOURNAL_SHIFT = 2 };

enum journal_flags {
	JF_REVERSE = 1 << 0,	  /* shift --reverse */
	JF_CROSS_MOUNTS = 1 << 1, /* --cross-mounts */
	JF_FROM_UID = 1 << 2,	  /* chown --from=UID */
	JF_FROM_GID = 1 << 3,	  /* chown --from=:GID */
	JF_SET_GID = 1 << 4,	  /* chown changes the group too */
};

struct journal_params {
	uint32_t verb;		     /* enum journal_verb */
	uint32_t flags;		     /* enum journal_flags */
	uint32_t uid, gid;	     /* chown: host ids to give */
	uint32_t from_uid, from_gid; /* chown --from */
	uint64_t root_dev, root_ino; /* the tree */
	char root_path[PATH_MAX];
	struct idmaps maps; /* shift: the maps */
};

/* --threads takes 1 to this many (walk.h's WALK_MAX_THREADS). */
#define REWRITE_MAX_THREADS 8

enum rewrite_mode { RW_CHOWN, RW_SHIFT, RW_UNDO };

struct rewrite_opts {
	enum rewrite_mode mode;
	struct journal_params p; /* verb parameters (chown/shift) */
	bool dry_run, verbose, quiet, json, strict, force;
	int threads;		  /* 0: default */
	const char *journal_file; /* --journal=FILE */
	bool resume;		  /* --resume */
	const char *resume_file;  /* --resume=JOURNAL (else found by PATH) */
	const struct rewrite_report_ops *report; /* required */
};

/* Messages of one kind (per run) and owner pairs listed at most. */
#define REWRITE_REPORT_MAX 20

/* How many inodes went from owner ou:og to nu:ng. */
struct rewrite_pair {
	uint32_t ou, og, nu, ng;
	uint64_t n;
};

/* The counters of a run, summed over its workers. */
struct rewrite_counts {
	uint64_t changed, correct, unmappable, other_owner, acl_changed,
		caps_restored, setid_restored, matched, skipped_changed;
};

/* What a walk did: the summary is printed from it. */
struct rewrite_result {
	const struct rewrite_opts *o;
	const char *path;
	const char *journal; /* the journal kept, or NULL */
	bool from_journal;   /* resume or undo: a journal was loaded */
	size_t journalled;   /* its inodes (from_journal) */
	uint64_t visited, hardlinks, mounts_skipped, errors;
	/* files with hard links outside the tree, left as they are */
	uint64_t links_outside;
	const struct rewrite_counts *t;
	double elapsed;			  /* seconds */
	const struct rewrite_pair *pairs; /* most frequent first */
	size_t npairs;
};

/*
 * How a run reports, set by the verb layer (rewrite_cli.h). Paths come
 * escaped. The engine decides whether and when (-v, --dry-run, --quiet,
 * --json, the first REWRITE_REPORT_MAX of a kind) and calls one at a time
 * (change, other_owner and skipped under its output lock).
 */
struct rewrite_report_ops {
	/* An inode changed (-v) or that would change (dry run). */
	void (*change)(const char *path, uint32_t ou, uint32_t og, uint32_t nu,
		       uint32_t ng, bool extra);
	/* -v: not owned by chown --from's ids. */
	void (*other_owner)(const char *path, uint32_t uid, uint32_t gid);
	/* An owner (or ACL entry, or capability root id) without image. */
	void (*unmappable)(const char *path, uint32_t uid, uint32_t gid,
			   bool acl, bool caps);
	/* A journalled inode left as it is (resume, undo). */
	void (*skipped)(const char *path, const char *why);
	/* The end of a walk that was not stopped by a journal error. */
	void (*summary)(const struct rewrite_result *res);
};

/* "chown", "shift" or "undo". */
const char *rewrite_mode_name(const struct rewrite_opts *o);

/* chown/shift one PATH (or resume/undo): returns the exit code. */
int rewrite_run(const char *path, struct rewrite_opts *o);

/* undo from a journal file (or, given a tree, its newest journal). */
int rewrite_undo(const char *journal_or_tree, struct rewrite_opts *o);

#endif
