/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The engine behind shiftctl chown, shift and undo: walks a tree with
 * walk.h, decides each inode's new owner (and ACL entries and file
 * capability root id), journals the originals (journal.h) before changing a
 * batch, and restores the setuid/setgid bits and security.capability that a
 * chown clears. Prints and exits like the rest of shiftctl's top layer.
 */
#ifndef SHIFTCTL_REWRITE_H
#define SHIFTCTL_REWRITE_H

#include <getopt.h>
#include <stdbool.h>

#include "journal.h"
#include "shiftctl.h"

/* Options shared by chown, shift (and partly undo). */
enum {
	OPT_DRY_RUN = OPT_VERB_FIRST,
	OPT_JOURNAL,
	OPT_RESUME,
	OPT_CROSS_MOUNTS,
	OPT_FORCE,
	OPT_THREADS,
	OPT_JSON,
	OPT_REWRITE_LAST, /* verbs number their own options from here */
};

/*
 * The options of the rewrite verbs as option groups (options.h), listed
 * after a verb's own: rewrite_opts_group (-n, --journal, --resume,
 * --cross-mounts) for chown and shift, then rewrite_common_opts_group
 * (--force, --threads, --json, -v, -q, -h) for chown, shift and undo.
 * rewrite_option() handles them all.
 */
extern const struct opt_group rewrite_opts_group, rewrite_common_opts_group;

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

struct rewrite_opts;

/* Handle one rewrite_opts_group option (or -n, -v, -q): true if it was. */
bool rewrite_option(struct rewrite_opts *o, int c, const char *arg,
		    const char *verb);

/* After getopt with --resume: "[JOURNAL | PATH]" -> rewrite_run(). */
int rewrite_resume_args(struct rewrite_opts *o, int argc, char **argv,
			const char *verb);

/* chown/shift one PATH (or resume/undo): returns the exit code. */
int rewrite_run(const char *path, struct rewrite_opts *o);

/* undo from a journal file (or, given a tree, its newest journal). */
int rewrite_undo(const char *journal_or_tree, struct rewrite_opts *o);

#endif
