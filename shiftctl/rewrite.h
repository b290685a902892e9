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

/* clang-format off */
/* Help lines for REWRITE_LONG_OPTIONS, shared by chown and shift. */
#define REWRITE_OPTIONS_HELP                                                   \
	" -n, --dry-run              print what would change, change nothing\n" \
	"     --journal=FILE         journal here (outside PATH)\n"              \
	"     --resume[=JOURNAL]     finish an interrupted run\n"                \
	"     --cross-mounts         enter other filesystems mounted under PATH\n" \
	"     --force                allow system and home directories\n"        \
	"     --threads=N            worker threads (default 2-4)\n"             \
	"     --json                 print the summary as JSON\n"                \
	" -v, --verbose              list every change\n"                        \
	" -q, --quiet                no progress, no summary\n"                  \
	" -h, --help                 display this help\n"

#define REWRITE_LONG_OPTIONS                                                  \
	{"dry-run", no_argument, NULL, OPT_DRY_RUN},                          \
	{"journal", required_argument, NULL, OPT_JOURNAL},                    \
	{"resume", optional_argument, NULL, OPT_RESUME},                      \
	{"cross-mounts", no_argument, NULL, OPT_CROSS_MOUNTS},                \
	{"force", no_argument, NULL, OPT_FORCE},                              \
	{"threads", required_argument, NULL, OPT_THREADS},                    \
	{"json", no_argument, NULL, OPT_JSON},                                \
	{"verbose", no_argument, NULL, 'v'},                                  \
	{"quiet", no_argument, NULL, 'q'}
/* clang-format on */

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

/* Handle one REWRITE_LONG_OPTIONS option (or -n, -v, -q): true if it was. */
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
