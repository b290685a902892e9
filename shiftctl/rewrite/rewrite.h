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
};

/* "chown", "shift" or "undo". */
const char *rewrite_mode_name(const struct rewrite_opts *o);

/* chown/shift one PATH (or resume/undo): returns the exit code. */
int rewrite_run(const char *path, struct rewrite_opts *o);

/* undo from a journal file (or, given a tree, its newest journal). */
int rewrite_undo(const char *journal_or_tree, struct rewrite_opts *o);

#endif
