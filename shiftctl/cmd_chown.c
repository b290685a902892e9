/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shiftctl chown: give a volume, in place, to the host ids that a container
 * USER has under a map, so the container sees the files as USER's. The
 * work (walk, journal, setuid/caps/ACL care) is rewrite.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse_int.h"
#include "passwd.h"
#include "rewrite_cli.h"
#include "shiftctl.h"

enum {
	OPT_USER = OPT_REWRITE_LAST,
	OPT_FROM,
};

/* clang-format off */
static const struct opt_def chown_defs[] = {
	{"user", required_argument, OPT_USER,
	 "     --user=USER[:GROUP]    the container user (and group) to own PATH\n"},
	{"from", required_argument, OPT_FROM,
	 "     --from=UID[:GID]       change only inodes owned by these host ids\n"},
	OPT_DEF_END,
};
/* clang-format on */

static const struct opt_group chown_group = {"Options:", chown_defs};
static const struct opt_group *const groups[] = {
	&mapsrc_source_opts, &mapsrc_file_opts, &chown_group,
	&rewrite_opts_group, &rewrite_common_opts_group, NULL,
};

static void usage(void)
{
	printf("\nUsage:\n %s chown --user=USER[:GROUP] [MAP SOURCE] [options] "
	       "PATH...\n"
	       " %s chown --resume[=JOURNAL] [PATH]\n",
	       program_name, program_name);
	fputs("\nMake every inode under PATH owned by the host ids that the "
	      "container's\n"
	      "USER has under the map (default: the rootless layout of the "
	      "invoking\n"
	      "user), so the container sees the volume as USER's. Names "
	      "resolve in the\n"
	      "container's /etc/passwd and /etc/group (--rootfs or "
	      "--passwd/--group).\n"
	      "A journal written before each batch of changes allows --resume "
	      "after\n"
	      "a crash and 'shiftctl undo JOURNAL'.\n",
	      stdout);
	opts_help(stdout, groups);
	fputs("\nExit status: 0 ok, 1 failure, 2 usage error.\n"
	      "\nFor more details see shiftctl-chown(1).\n",
	      stdout);
}

static void parse_from(struct rewrite_opts *o, const char *arg)
{
	char *copy = strdup(arg), *colon;
	struct passwd_user u;
	struct shift_diag d = {""};

	if (!copy)
		die(EXIT_FAIL, "out of memory");
	colon = strchr(copy, ':');
	if (colon)
		*colon++ = '\0';
	if (*copy) {
		if (passwd_host_user(copy, &u, &d) < 0)
			die(EXIT_FAIL, "--from=%s: %s", arg, d.msg);
		o->p.from_uid = u.uid;
		o->p.flags |= JF_FROM_UID;
	}
	if (colon && *colon) {
		if (passwd_group_lookup("/etc/group", colon, &o->p.from_gid,
					&d) < 0)
			die(EXIT_FAIL, "--from=%s: %s", arg, d.msg);
		o->p.flags |= JF_FROM_GID;
	}
	if (!(o->p.flags & (JF_FROM_UID | JF_FROM_GID)))
		usage_error("chown", "--from needs UID, :GID or UID:GID");
	free(copy);
}

/* Resolve --user in the container and map it to host ids. */
static void resolve_user(struct rewrite_opts *o, struct mapsrc *ms,
			 const char *spec)
{
	struct shift_diag d = {""};
	struct idmaps *m = &o->p.maps;
	uint32_t cu, cg;
	int r;

	mapsrc_build(ms, true, m);
	r = passwd_db_resolve_pair(mapsrc_passwd_db(ms), mapsrc_group_db(ms),
				   spec, &cu, &cg, &d);
	if (r < 0)
		die(EXIT_FAIL, "--user=%s: %s%s", spec, d.msg,
		    mapsrc_names_hint(ms, r));
	if (idmap_to_view(&m->uid, cu, &o->p.uid) < 0)
		die(EXIT_FAIL,
		    "--user=%s: container uid %u has no host uid "
		    "under the map",
		    spec, cu);
	if (idmap_to_view(&m->gid, cg, &o->p.gid) < 0)
		die(EXIT_FAIL,
		    "--user=%s: container gid %u has no host gid "
		    "under the map",
		    spec, cg);
	o->p.flags |= JF_SET_GID;
}

int cmd_chown(int argc, char **argv)
{
	struct rewrite_opts o = {.mode = RW_CHOWN,
				 .report = &rewrite_report_ops};
	const char *user = NULL, *from = NULL;
	struct mapsrc ms;
	struct opts p;
	int c, i, code = EXIT_OK, rc;

	o.p.verb = JOURNAL_CHOWN;
	mapsrc_init(&ms, "chown");
	opts_init(&p, "nvqh", groups);
	while ((c = opts_next(&p, argc, argv)) != -1) {
		if (mapsrc_option(&ms, c, optarg) ||
		    rewrite_option(&o, c, optarg, "chown"))
			continue;
		switch (c) {
		case OPT_USER:
			user = optarg;
			break;
		case OPT_FROM:
			from = optarg;
			break;
		case 'h':
			usage();
			return EXIT_OK;
		default:
			usage_try("chown");
		}
	}
	if (o.resume) {
		if (user || from || ms.req.kind != LAYOUT_NONE)
			usage_error(
				"chown",
				"--resume takes its parameters "
				"from the journal: no --user, --from or map");
		return rewrite_resume_args(&o, argc, argv, "chown");
	}
	if (!user)
		usage_error("chown", "--user=USER[:GROUP] is required");
	if (optind >= argc)
		usage_error("chown", "no PATH given");
	if (o.journal_file && optind + 1 < argc)
		usage_error("chown", "--journal goes with a single PATH");
	if (from)
		parse_from(&o, from);
	resolve_user(&o, &ms, user);
	mapsrc_release(&ms); /* the container's files are read by now */
	for (i = optind; i < argc; i++) {
		rc = rewrite_run(argv[i], &o);
		if (rc != EXIT_OK)
			code = rc;
	}
	return code;
}
