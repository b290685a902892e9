/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shiftctl undo: put back, from a chown or shift journal, the exact
 * original owner, group, mode, ACLs and file capability of every inode that
 * run touched (also after a crash, finished or not).
 */
#include <stdio.h>

#include "rewrite.h"
#include "shiftctl.h"

static void usage(void)
{
	printf("\nUsage:\n %s undo [options] JOURNAL|PATH\n", program_name);
	fputs("\nRestore every inode recorded in JOURNAL (written by 'shiftctl "
	      "chown'\n"
	      "or 'shiftctl shift') to its original owner, group, mode, ACLs "
	      "and\n"
	      "file capability. Given the tree's PATH instead, its newest "
	      "journal\n"
	      "in the default journal directory is used. Safe to run again.\n"
	      "Only inodes that provably are the ones the run changed, in the\n"
	      "state it left them, are restored; the rest are reported.\n",
	      stdout);
	fputs("\nOptions:\n"
	      " -n, --dry-run              print what would be restored\n"
	      "     --force                allow system and home directories\n"
	      "     --threads=N            worker threads (default 2-4)\n"
	      "     --json                 print the summary as JSON\n"
	      " -v, --verbose              list every change\n"
	      " -q, --quiet                no progress, no summary\n"
	      " -h, --help                 display this help\n"
	      "\nExit status: 0 ok, 1 failure, 2 usage error.\n"
	      "\nFor more details see shiftctl-chown(1).\n",
	      stdout);
}

int cmd_undo(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"dry-run", no_argument, NULL, OPT_DRY_RUN},
		{"force", no_argument, NULL, OPT_FORCE},
		{"threads", required_argument, NULL, OPT_THREADS},
		{"json", no_argument, NULL, OPT_JSON},
		{"verbose", no_argument, NULL, 'v'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct rewrite_opts o = {.mode = RW_UNDO};
	int c;

	while ((c = getopt_long(argc, argv, "nvqh", longopts, NULL)) != -1) {
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
