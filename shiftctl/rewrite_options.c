/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The options chown, shift and undo share (rewrite_cli.h): their tables,
 * which getopt_long and --help both read, and their parsing into struct
 * rewrite_opts.
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "parse_int.h"
#include "rewrite_cli.h"
#include "shiftctl.h"

/* ---- options ---- */

/* clang-format off */
static const struct opt_def rewrite_defs[] = {
	{"dry-run", no_argument, OPT_DRY_RUN,
	 " -n, --dry-run              print what would change, change nothing\n"},
	{"journal", required_argument, OPT_JOURNAL,
	 "     --journal=FILE         journal here (outside PATH)\n"},
	{"resume", optional_argument, OPT_RESUME,
	 "     --resume[=JOURNAL]     finish an interrupted run\n"},
	{"cross-mounts", no_argument, OPT_CROSS_MOUNTS,
	 "     --cross-mounts         enter other filesystems mounted under PATH\n"},
	OPT_DEF_END,
};

static const struct opt_def common_defs[] = {
	{"force", no_argument, OPT_FORCE,
	 "     --force                allow system and home directories\n"},
	{"threads", required_argument, OPT_THREADS,
	 "     --threads=N            worker threads (default 2-4)\n"},
	{"json", no_argument, OPT_JSON,
	 "     --json                 print the summary as JSON\n"},
	{"verbose", no_argument, 'v',
	 " -v, --verbose              list every change\n"},
	{"quiet", no_argument, 'q',
	 " -q, --quiet                no progress, no summary\n"},
	OPT_DEF_HELP,
	OPT_DEF_END,
};
/* clang-format on */

const struct opt_group rewrite_opts_group = {NULL, rewrite_defs};
const struct opt_group rewrite_common_opts_group = {NULL, common_defs};

bool rewrite_option(struct rewrite_opts *o, int c, const char *arg,
		    const char *verb)
{
	uint32_t n;

	switch (c) {
	case OPT_DRY_RUN:
	case 'n':
		o->dry_run = true;
		return true;
	case OPT_JOURNAL:
		o->journal_file = arg;
		return true;
	case OPT_RESUME:
		o->resume = true;
		o->resume_file = arg;
		return true;
	case OPT_CROSS_MOUNTS:
		o->p.flags |= JF_CROSS_MOUNTS;
		return true;
	case OPT_FORCE:
		o->force = true;
		return true;
	case OPT_THREADS:
		if (parse_u32(arg, 1, REWRITE_MAX_THREADS, &n) < 0)
			usage_error(verb, "--threads takes 1 to %d, not '%s'",
				    REWRITE_MAX_THREADS, arg);
		o->threads = (int)n;
		return true;
	case OPT_JSON:
		o->json = true;
		return true;
	case 'v':
		o->verbose = true;
		return true;
	case 'q':
		o->quiet = true;
		return true;
	}
	return false;
}

int rewrite_resume_args(struct rewrite_opts *o, int argc, char **argv,
			const char *verb)
{
	struct stat st;

	/* "--resume JOURNAL" (a file) as well as "--resume=JOURNAL". */
	if (!o->resume_file && optind < argc && stat(argv[optind], &st) == 0 &&
	    S_ISREG(st.st_mode))
		o->resume_file = argv[optind++];
	if (optind + 1 < argc)
		usage_error(verb, "--resume takes one JOURNAL or PATH");
	if (!o->resume_file && optind >= argc)
		usage_error(verb, "--resume needs a JOURNAL or the PATH");
	if (o->journal_file)
		usage_error(verb, "--resume appends to its own journal: no "
				  "--journal");
	return rewrite_run(optind < argc ? argv[optind] : NULL, o);
}
