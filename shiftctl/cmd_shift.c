/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shiftctl shift: translate every owner of a volume through an id map, in
 * place (disk id taken as a container id -> its host id), e.g. to move a
 * rootful volume to a rootless container; --reverse goes back. The work is
 * rewrite.c's.
 */
#include <stdio.h>

#include "rewrite_cli.h"
#include "shiftctl.h"

enum {
	OPT_REVERSE = OPT_REWRITE_LAST,
	OPT_STRICT,
};

/* clang-format off */
static const struct opt_def shift_defs[] = {
	{"reverse", no_argument, OPT_REVERSE,
	 "     --reverse              translate host ids back to container ids\n"},
	{"strict", no_argument, OPT_STRICT,
	 "     --strict               fail (exit 1, nothing changed) if any id\n"
	 "                              has no image under the map\n"},
	OPT_DEF_END,
};
/* clang-format on */

static const struct opt_group shift_group = {"Options:", shift_defs};
static const struct opt_group *const groups[] = {
	&mapsrc_source_opts, &mapsrc_file_opts, &shift_group,
	&rewrite_opts_group, &rewrite_common_opts_group, NULL,
};

static void usage(void)
{
	printf("\nUsage:\n %s shift [MAP SOURCE] [options] PATH...\n"
	       " %s shift --resume[=JOURNAL] [PATH]\n",
	       program_name, program_name);
	fputs("\nTranslate every owner under PATH through the map: each uid "
	      "and gid\n"
	      "is taken as a container id and replaced by its host id "
	      "(--reverse:\n"
	      "host id -> container id). Named ACL entries and the root id of "
	      "file\n"
	      "capabilities move the same way. Ids the map cannot translate "
	      "are\n"
	      "reported and left unchanged. A journal allows --resume and "
	      "undo.\n",
	      stdout);
	opts_help(stdout, groups);
	fputs("\nShifting twice shifts twice: undo with 'shiftctl undo "
	      "JOURNAL'.\n"
	      "Exit status: 0 ok, 1 failure, 2 usage error.\n"
	      "\nFor more details see shiftctl-chown(1).\n",
	      stdout);
}

int cmd_shift(int argc, char **argv)
{
	struct rewrite_opts o = {.mode = RW_SHIFT,
				 .report = &rewrite_report_ops};
	struct mapsrc ms;
	struct opts p;
	int c, i, code = EXIT_OK, rc;

	o.p.verb = JOURNAL_SHIFT;
	mapsrc_init(&ms, "shift");
	opts_init(&p, "nvqh", groups);
	while ((c = opts_next(&p, argc, argv)) != -1) {
		if (mapsrc_option(&ms, c, optarg) ||
		    rewrite_option(&o, c, optarg, "shift"))
			continue;
		switch (c) {
		case OPT_REVERSE:
			o.p.flags |= JF_REVERSE;
			break;
		case OPT_STRICT:
			o.strict = true;
			break;
		case 'h':
			usage();
			return EXIT_OK;
		default:
			usage_try("shift");
		}
	}
	if (o.resume) {
		if (ms.req.kind != LAYOUT_NONE || (o.p.flags & JF_REVERSE))
			usage_error("shift",
				    "--resume takes its parameters "
				    "from the journal: no map, no --reverse");
		return rewrite_resume_args(&o, argc, argv, "shift");
	}
	if (optind >= argc)
		usage_error("shift", "no PATH given");
	if (o.journal_file && optind + 1 < argc)
		usage_error("shift", "--journal goes with a single PATH");
	mapsrc_build(&ms, true, &o.p.maps);
	for (i = optind; i < argc; i++) {
		rc = rewrite_run(argv[i], &o);
		if (rc != EXIT_OK)
			code = rc;
	}
	return code;
}
