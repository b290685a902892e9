/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The front-end side of the rewrite verbs (chown, shift, undo): the
 * options they share (rewrite_options.c) and what they print
 * (rewrite_report.c), over the engine's rewrite.h.
 */
#ifndef SHIFTCTL_REWRITE_CLI_H
#define SHIFTCTL_REWRITE_CLI_H

#include <stdbool.h>

#include "rewrite.h"
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

/* Handle one rewrite_opts_group option (or -n, -v, -q): true if it was. */
bool rewrite_option(struct rewrite_opts *o, int c, const char *arg,
		    const char *verb);

/* After getopt with --resume: "[JOURNAL | PATH]" -> rewrite_run(). */
int rewrite_resume_args(struct rewrite_opts *o, int argc, char **argv,
			const char *verb);

/* Text and --json output of a run; every verb sets o->report to it. */
extern const struct rewrite_report_ops rewrite_report_ops;

#endif
