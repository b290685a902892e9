/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shiftctl plugin serve|install|uninstall: a Docker/podman volume plugin
 * whose volumes are shifted mounts ("docker volume create -d shiftfs -o
 * source=DIR -o user=1000"). The verb: options and printing; the plugin
 * engine (plugin/, plugin.h) serves and installs.
 */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "parse_int.h"
#include "plugin.h"
#include "shiftctl.h"

enum {
	OPT_SOCKET = OPT_VERB_FIRST,
	OPT_STATE_DIR,
	OPT_ENGINE,
	OPT_GROUP_SOCK,
	OPT_USER_INSTALL,
	OPT_ROOT,
	OPT_SERVE_ARGS,
};

/* clang-format off */
static const struct opt_def serve_defs[] = {
	{"socket", required_argument, OPT_SOCKET,
	 "     --socket=PATH          where to listen (default: as root\n"
	 "                              /run/docker/plugins/shiftfs.sock, else\n"
	 "                              $XDG_RUNTIME_DIR/shiftfs/shiftfs.sock)\n"},
	{"socket-group", required_argument, OPT_GROUP_SOCK,
	 "     --socket-group=GROUP   socket mode 0660 for GROUP (default 0600)\n"},
	{"state-dir", required_argument, OPT_STATE_DIR,
	 "     --state-dir=DIR        the volumes' state (default: as root\n"
	 "                              /var/lib/shiftfs/plugin, else\n"
	 "                              $XDG_DATA_HOME/shiftfs/plugin)\n"},
	{"engine", required_argument, OPT_ENGINE,
	 "     --engine=docker|podman the engine image=NAME asks\n"},
	OPT_DEF_HELP,
	OPT_DEF_END,
};

static const struct opt_def install_defs[] = {
	{"user", no_argument, OPT_USER_INSTALL,
	 "     --user                 the invoking user's files (rootless\n"
	 "                              docker and podman), a systemd user unit\n"},
	{"root", required_argument, OPT_ROOT,
	 "     --root=DIR             write below DIR (an image being built)\n"},
	{"serve-args", required_argument, OPT_SERVE_ARGS,
	 "     --serve-args=ARGS      options the unit passes to plugin serve\n"},
	OPT_DEF_HELP,
	OPT_DEF_END,
};
/* clang-format on */

static const struct opt_group serve_group = {"Options:", serve_defs};
static const struct opt_group *const serve_groups[] = {
	&mapsrc_source_opts, &mapsrc_file_opts, &serve_group, NULL};
static const struct opt_group install_group = {"Options:", install_defs};
static const struct opt_group *const install_groups[] = {&install_group, NULL};

static void usage(void)
{
	printf("\nUsage:\n %s plugin serve [MAP SOURCE] [options]\n"
	       " %s plugin install [--user] [options]\n"
	       " %s plugin uninstall [--user] [options]\n",
	       program_name, program_name, program_name);
	fputs("\nA Docker and podman volume plugin: a volume is a directory "
	      "shown with\n"
	      "owners shifted for the container's USER, mounted when the "
	      "first\n"
	      "container using it starts and unmounted when the last one "
	      "stops:\n"
	      "  docker volume create -d shiftfs -o source=DIR -o user=1000 "
	      "NAME\n"
	      "Volume options: source=DIR (required), user=C[:G], image=NAME,\n"
	      "rootless[=USER], userns-remap=USER, map=SPEC, ro, "
	      "backend=auto|idmap|fuse.\n"
	      "\nserve: answer the plugin protocol in the foreground. Its MAP "
	      "SOURCE is\n"
	      "the engine's own layout, for volumes that name none (default: "
	      "--rootless\n"
	      "for the invoking user; as root, ids as they are).\n",
	      stdout);
	opts_help(stdout, serve_groups);
	fputs("\ninstall: write the files docker and podman find the plugin "
	      "by, and a\n"
	      "systemd unit, printing each; uninstall removes exactly "
	      "those.\n",
	      stdout);
	opts_help(stdout, install_groups);
	fputs("\nExit status: 0 done (serve: stopped by SIGTERM), 1 failure, "
	      "2 usage error.\n"
	      "\nFor more details see shiftctl-plugin(1).\n",
	      stdout);
}

static int serve(int argc, char **argv)
{
	static struct plugin_opts o = {.group = (gid_t)-1};
	char why[PATH_MAX + 512] = "";
	struct opts p;
	struct group *gr;
	uint32_t gid;
	int c;

	opts_init(&p, "h", serve_groups);
	while ((c = opts_next(&p, argc, argv)) != -1) {
		if (c > OPT_MAPSRC_FIRST - 1 && c < OPT_MAPSRC_LAST) {
			if (o.nmap == PLUGIN_MAPOPTS_MAX)
				usage_error("plugin serve",
					    "too many map options");
			o.map[o.nmap].opt = c;
			o.map[o.nmap++].arg = optarg;
			continue;
		}
		switch (c) {
		case OPT_SOCKET:
			o.socket = optarg;
			break;
		case OPT_STATE_DIR:
			o.state_dir = optarg;
			break;
		case OPT_ENGINE:
			if (strcmp(optarg, "docker") &&
			    strcmp(optarg, "podman"))
				usage_error("plugin serve",
					    "--engine takes docker or podman, "
					    "not '%s'",
					    optarg);
			o.engine = optarg;
			break;
		case OPT_GROUP_SOCK:
			gr = getgrnam(optarg);
			if (gr)
				o.group = gr->gr_gid;
			else if (parse_u32(optarg, 0, UINT32_MAX - 1, &gid) ==
				 0)
				o.group = (gid_t)gid;
			else
				usage_error("plugin serve",
					    "--socket-group=%s: no such group",
					    optarg);
			break;
		case 'h':
			usage();
			return EXIT_OK;
		default:
			usage_try("plugin");
		}
	}
	if (optind != argc)
		usage_error("plugin serve", "serve takes no arguments");
	if (plugin_serve(&o, why, sizeof(why)) < 0)
		die(EXIT_FAIL, "%s", why);
	return EXIT_OK;
}

static void print_files(const struct plugin_files *f, const char *done)
{
	int i;

	for (i = 0; i < f->n; i++)
		printf("%s: %s %s (%s)\n", program_name,
		       f->created[i] ? done : "left", f->path[i], f->what[i]);
}

/* Rootless docker 20.10 reads spec files only from /etc/docker/plugins. */
static void spec_note(const struct plugin_files *f)
{
	char *q;
	int i;

	for (i = 0; i < f->n; i++) {
		size_t n = strlen(f->path[i]);

		if (n < 5 || strcmp(f->path[i] + n - 5, ".spec"))
			continue;
		q = sh_quote(f->path[i]);
		printf("%s: rootless docker before 23.0 reads plugin specs "
		       "only "
		       "from /etc/docker/plugins; there, as root: mkdir -p "
		       "/etc/docker/plugins && cp %s "
		       "/etc/docker/plugins/shiftfs.spec\n",
		       program_name, q);
		free(q);
	}
}

static int install(int argc, char **argv, bool undo)
{
	struct plugin_install o = {false, NULL, "", ""};
	static struct plugin_files f;
	char exe[PATH_MAX], why[PATH_MAX + 512] = "";
	const char *verb = undo ? "plugin uninstall" : "plugin install";
	struct opts p;
	ssize_t n;
	int c;

	opts_init(&p, "h", install_groups);
	while ((c = opts_next(&p, argc, argv)) != -1) {
		switch (c) {
		case OPT_USER_INSTALL:
			o.user = true;
			break;
		case OPT_ROOT:
			o.root = optarg;
			break;
		case OPT_SERVE_ARGS:
			o.serve_args = optarg;
			break;
		case 'h':
			usage();
			return EXIT_OK;
		default:
			usage_try("plugin");
		}
	}
	if (optind != argc)
		usage_error(verb, "takes no arguments");
	if (!o.user && geteuid() != 0)
		die(EXIT_FAIL,
		    "%s: the system's files need root (--user "
		    "installs for you)",
		    verb);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		die(EXIT_FAIL, "/proc/self/exe: %s", strerror(errno));
	exe[n] = '\0';
	o.exe = exe;
	if (undo ? plugin_uninstall(&o, &f, why, sizeof(why)) < 0
		 : plugin_install(&o, &f, why, sizeof(why)) < 0) {
		print_files(&f, undo ? "removed" : "wrote");
		die(EXIT_FAIL, "%s", why);
	}
	print_files(&f, undo ? "removed" : "wrote");
	if (!undo && o.user)
		spec_note(&f);
	if (!undo && o.user && !o.root[0])
		printf("%s: start it with: systemctl --user daemon-reload && "
		       "systemctl --user enable --now shiftfs-plugin.socket\n",
		       program_name);
	else if (!undo && !o.root[0])
		printf("%s: start it with: systemctl daemon-reload && "
		       "systemctl enable --now shiftfs-plugin.socket\n",
		       program_name);
	return EXIT_OK;
}

int cmd_plugin(int argc, char **argv)
{
	if (argc < 2) {
		if (argc == 1)
			usage_error("plugin", "give serve, install or "
					      "uninstall");
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage();
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
		printf("shiftctl %s\n", SHIFT_VERSION);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "serve"))
		return serve(argc - 1, argv + 1);
	if (!strcmp(argv[1], "install"))
		return install(argc - 1, argv + 1, false);
	if (!strcmp(argv[1], "uninstall"))
		return install(argc - 1, argv + 1, true);
	usage_error("plugin",
		    "unknown subcommand '%s' (serve, install, "
		    "uninstall)",
		    argv[1]);
}
