/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shiftctl doctor: explain why a container's USER gets "permission denied"
 * on a volume, and what to run. The options, one call into the diagnosis
 * engine (doctor/doctor.h), and its report (doctor_report.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "doctor.h"
#include "doctor_report.h"
#include "parse_int.h"
#include "shiftctl.h"

enum {
	OPT_JSON = OPT_VERB_FIRST,
	OPT_USER,
	OPT_IMAGE,
	OPT_ENGINE,
	OPT_ROOTFUL,
	OPT_DOCKER_CONFIG,
	OPT_NEED,
	OPT_MAX_FILES,
	OPT_LIST,
	OPT_TARGET,
	OPT_CONTAINER_PATH,
	OPT_QUIET,
};

/* clang-format off */
static const struct opt_def doctor_defs[] = {
	{"user", required_argument, OPT_USER,
	 "     --user=USER[:GROUP]    the container's USER (name or id)\n"},
	{"image", required_argument, OPT_IMAGE,
	 "     --image=NAME           take USER and /etc/passwd, /etc/group\n"
	 "                              from an image (podman or docker)\n"},
	{"engine", required_argument, OPT_ENGINE,
	 "     --engine=podman|docker the container engine\n"},
	{"rootful", no_argument, OPT_ROOTFUL,
	 "     --rootful              the engine runs as root\n"},
	{"docker-config", required_argument, OPT_DOCKER_CONFIG,
	 "     --docker-config=FILE   instead of /etc/docker/daemon.json\n"},
	{"need", required_argument, OPT_NEED,
	 "     --need=r|rw|rwx        the access USER needs (default rw)\n"},
	{"max-files", required_argument, OPT_MAX_FILES,
	 "     --max-files=N          stop after N entries\n"},
	{"list", required_argument, OPT_LIST,
	 "     --list=denied|all|none entries listed in --json (default denied)\n"},
	{"target", required_argument, OPT_TARGET,
	 "     --target=DIR           mount point to suggest for 'shiftctl mount'\n"},
	{"container-path", required_argument, OPT_CONTAINER_PATH,
	 "     --container-path=DIR   where the volume goes in the container\n"
	 "                              (default /data)\n"},
	{"quiet", no_argument, 'q',
	 " -q, --quiet                no progress display\n"},
	{"json", no_argument, OPT_JSON,
	 "     --json                 print JSON\n"},
	OPT_DEF_HELP,
	OPT_DEF_END,
};
/* clang-format on */

static const struct opt_group doctor_group = {"Options:", doctor_defs};
static const struct opt_group *const groups[] = {
	&mapsrc_source_opts,
	&mapsrc_file_opts,
	&doctor_group,
	NULL,
};

static void usage(void)
{
	printf("\nUsage:\n %s doctor PATH --user=USER[:GROUP] [MAP SOURCE] "
	       "[options]\n %s doctor PATH --image=NAME [MAP SOURCE] "
	       "[options]\n",
	       program_name, program_name);
	fputs("\nExplain why a container's USER cannot read or write the "
	      "volume "
	      "PATH:\nthe host ids USER has under the map, how every owner in "
	      "the tree\nappears inside the container, which entries USER "
	      "cannot reach, read\nor write by the kernel's rules (modes, "
	      "POSIX "
	      "ACLs and their mask,\nsticky directories, container root's "
	      "capabilities), and ranked fixes.\n",
	      stdout);
	opts_help(stdout, groups);
	fputs("\nWith no map source, the layout of the engine found (rootless "
	      "or rootful,\nuserns-remap from daemon.json) is used.\n"
	      "Exit status: 0 USER has the access needed on the whole tree, 1 "
	      "not (or\nfailure), 2 usage error.\n"
	      "\nFor more details see shiftctl-doctor(1).\n",
	      stdout);
}

static void set_engine(struct doctor *dr, const char *arg)
{
	if (strcmp(arg, "podman") && strcmp(arg, "docker"))
		usage_error("doctor",
			    "--engine takes podman or docker, "
			    "not '%s'",
			    arg);
	dr->engine_opt = arg;
}

static void set_need(struct doctor *dr, const char *arg)
{
	if (!strcmp(arg, "r"))
		dr->need = ACCESS_R;
	else if (!strcmp(arg, "rw"))
		dr->need = ACCESS_R | ACCESS_W;
	else if (!strcmp(arg, "rwx"))
		dr->need = ACCESS_R | ACCESS_W | ACCESS_X;
	else
		usage_error("doctor",
			    "--need takes r, rw or rwx, not "
			    "'%s'",
			    arg);
}

static void set_max_files(struct doctor *dr, const char *arg)
{
	uint32_t v;
	int r;

	r = parse_u32(arg, 1, UINT32_MAX, &v);
	if (r < 0)
		usage_error("doctor", "--max-files '%s': %s", arg,
			    parse_u32_reason(r));
	dr->max_files = v;
}

static void set_list(struct doctor *dr, const char *arg)
{
	if (!strcmp(arg, "all"))
		dr->list_all = true;
	else if (!strcmp(arg, "none"))
		dr->list_none = true;
	else if (strcmp(arg, "denied"))
		usage_error("doctor",
			    "--list takes denied, all or none, "
			    "not '%s'",
			    arg);
}

/* One of doctor's own options; false after --help. */
static bool doctor_option(struct doctor *dr, int c, const char *arg)
{
	switch (c) {
	case OPT_JSON:
		dr->json = true;
		break;
	case OPT_USER:
		dr->user_spec = arg;
		break;
	case OPT_IMAGE:
		dr->image = arg;
		break;
	case OPT_ENGINE:
		set_engine(dr, arg);
		break;
	case OPT_ROOTFUL:
		dr->rootful = true;
		break;
	case OPT_DOCKER_CONFIG:
		dr->docker_config = arg;
		break;
	case OPT_NEED:
		set_need(dr, arg);
		break;
	case OPT_MAX_FILES:
		set_max_files(dr, arg);
		break;
	case OPT_LIST:
		set_list(dr, arg);
		break;
	case OPT_TARGET:
		dr->target = arg;
		break;
	case OPT_CONTAINER_PATH:
		dr->container_path = arg;
		break;
	case 'q':
		dr->quiet = true;
		break;
	case 'h':
		usage();
		return false;
	default:
		usage_try("doctor");
	}
	return true;
}

/* The options and PATH into dr: -1 to go on, else the exit code. */
static int parse_args(struct doctor *dr, int argc, char **argv)
{
	struct opts p;
	int c;

	memset(dr, 0, sizeof(*dr));
	mapsrc_init(&dr->ms, "doctor");
	dr->root_fd = -1;
	dr->need = ACCESS_R | ACCESS_W;
	dr->container_path = "/data";
	opts_init(&p, "hq", groups);
	while ((c = opts_next(&p, argc, argv)) != -1) {
		if (mapsrc_option(&dr->ms, c, optarg))
			continue;
		if (!doctor_option(dr, c, optarg))
			return EXIT_OK;
	}
	if (optind >= argc)
		usage_error("doctor", "missing PATH");
	dr->path = argv[optind++];
	if (optind < argc)
		usage_error("doctor", "unexpected argument '%s'", argv[optind]);
	if (!dr->user_spec && !dr->image)
		usage_error("doctor", "give the container's --user=USER (or "
				      "--image=NAME)");
	if (dr->rootful && dr->ms.req.kind == LAYOUT_ROOTLESS)
		usage_error("doctor", "--rootful conflicts with --rootless");
	return -1;
}

int cmd_doctor(int argc, char **argv)
{
	static struct doctor dr;
	struct json_object *entries = NULL;
	int r;

	r = parse_args(&dr, argc, argv);
	if (r >= 0)
		return r;
	if (dr.json) {
		dr.quiet = true;
		entries = json_object_new_array();
		dr.list_entry = doctor_list_json;
		dr.list_ctx = entries;
	}
	doctor_run(&dr);
	if (dr.json)
		doctor_print_json(&dr, entries);
	else
		doctor_print_text(&dr);
	r = doctor_all_ok(&dr) ? EXIT_OK : EXIT_FAIL;
	doctor_release(&dr);
	return r;
}
