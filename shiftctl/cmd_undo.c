/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shiftctl undo: put back, from a chown or shift journal, the exact
 * original owner, group, mode, ACLs and file capability of every inode that
 * run touched (also after a crash, finished or not).
 */
#include <stdio.h>

#include "rewrite_cli.h"
#include "shiftctl.h"

/* clang-format off */
static const struct opt_def undo_defs[] = {
	{"dry-run", no_argument, OPT_DRY_RUN,
	 " -n, --dry-run              print what would be restored\n"},
	OPT_DEF_END,
};
/* clang-format on */

static const struct opt_group undo_group = {"Options:", undo_defs};
static const struct opt_group *const groups[] = {
	&undo_group, &rewrite_common_opts_group, NULL,
};

static void usage(void)
{
	printf("\nUsage:\n %s undo [options] JOURNAL|PATH\n", program_name);
	fputs("\nRestore every inode recorded in JOURNAL (written by 'shiftctl "
	      "chown'\n"
	      "or 'shiftctl shift') to its original owner, group, mode, ACLs "
	      "and\n"
	      "file capability. Given the tree's PATH instead, its newest "
	      "journal\n"
	      "not undone yet in the default journal directory is used (run "
	      "again,\n"
	      "the one before it). Only inodes that provably are the ones the "
	      "run\n"
	      "changed, in the state it left them, are restored; the rest are\n"
	      "reported.\n",
	      stdout);
	opts_help(stdout, groups);
	fputs("\nExit status: 0 ok (also: the journal was already undone), "
	      "1 failure,\n"
	      "2 usage error.\n"
	      "\nFor more details see shiftctl-chown(1).\n",
	      stdout);
}

int cmd_undo(int argc, char **argv)
{
	struct rewrite_opts o = {.mode = RW_UNDO,
				 .report = &rewrite_report_ops};
	struct opts p;
	int c;

	opts_init(&p, "nvqh", groups);
	while ((c = opts_next(&p, argc, argv)) != -1) {
		if (rewrite_option(&o, c, optarg, "undo"))
			continue;
		if (c == 'h') {
			usage();
			return EXIT_OK;
		}
		usage_try("undo");
	}
	if (optind >= argc)
		usage_error("undo", "no JOURNAL given");
	if (optind + 1 < argc)
		usage_error("undo", "one JOURNAL at a time");
	return rewrite_undo(argv[optind], &o);
}
