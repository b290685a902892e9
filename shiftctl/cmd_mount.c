/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shiftctl mount: show SRC at MNT with owners shifted through a map, with
 * the kernel's idmapped mounts where possible (zero overhead) and the
 * shiftfs FUSE daemon otherwise. Refuses system directories, home
 * directories and overlapping SRC/MNT; warns when a map hands host root's
 * files to an ordinary user at a mount point others can reach.
 *
 * The verb: options, the map, and printing. The mount engine (mount/,
 * mount.h) resolves SRC and MNT once to checked O_PATH fds, decides, and
 * mounts by fd, so that a symlink or rename swapped in after the checks
 * cannot redirect the mount.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "mount.h"
#include "shiftctl.h"

enum {
	OPT_JSON = OPT_VERB_FIRST,
	OPT_BACKEND,
	OPT_FORCE,
	OPT_MKDIR,
	OPT_PRIVATE,
	OPT_ALLOW_SUID_SRC,
};

/* clang-format off */
static const struct opt_def mount_defs[] = {
	{"read-only", no_argument, 'r',
	 " -r, --read-only            mount read-only\n"},
	{"backend", required_argument, OPT_BACKEND,
	 "     --backend=auto|idmap|fuse  (default auto: idmap, else fuse)\n"},
	{"options", required_argument, 'o',
	 " -o OPT[,OPT...]            shiftfs options (cache=, writeback,\n"
	 "                              nopassthrough, suid, dev,\n"
	 "                              allow_other, ...)\n"},
	{"mkdir", no_argument, OPT_MKDIR,
	 "     --mkdir                create MNT (and its parents) if missing\n"},
	{"private", no_argument, OPT_PRIVATE,
	 "     --private              mount at a NAME under a 0700 directory\n"
	 "                              (as root /run/shiftfs/private, or for\n"
	 "                              a rootless layout one only its user\n"
	 "                              may enter)\n"},
	{"force", no_argument, OPT_FORCE,
	 "     --force                allow system or home directories and\n"
	 "                              overlapping SRC and MNT\n"},
	{"allow-suid-src", no_argument, OPT_ALLOW_SUID_SRC,
	 "     --allow-suid-src       idmap even where the map would let a\n"
	 "                              view id plant setuid files in SRC\n"},
	{"json", no_argument, OPT_JSON,
	 "     --json                 print the mount's record as JSON\n"},
	OPT_DEF_HELP,
	OPT_DEF_END,
};
/* clang-format on */

static const struct opt_group mount_group = {NULL, mount_defs};
static const struct opt_group *const groups[] = {
	&mapsrc_source_opts, &mapsrc_file_opts, &mapsrc_owner_opts,
	&mount_group,	     NULL,
};

static void usage(void)
{
	printf("\nUsage:\n %s mount [MAP SOURCE] [options] SRC MNT\n"
	       " %s mount [MAP SOURCE] [options] --private SRC [NAME]\n",
	       program_name, program_name);
	fputs("\nShow directory SRC at MNT with every owner shifted through an "
	      "id\n"
	      "map: with a kernel idmapped mount where possible, else with "
	      "the\n"
	      "shiftfs FUSE daemon. Prints which backend it used, why, and the "
	      "map.\n",
	      stdout);
	opts_help(stdout, groups);
	fputs("\nWith no map source, --rootless for the invoking user is "
	      "used; with\n"
	      "--user and no --owner, the owner is the owner of SRC.\n"
	      "Exit status: 0 mounted, 1 failure, 2 usage error.\n"
	      "\nFor more details see shiftctl-mount(1).\n",
	      stdout);
}

/* -o options the FUSE backend's own mount (as root) applies. */
static const struct {
	const char *name;
	uint64_t set;
} mount_flags[] = {
	{"noexec", MOUNT_ATTR_NOEXEC},
	{"noatime", MOUNT_ATTR_NOATIME},
	{"nodiratime", MOUNT_ATTR_NODIRATIME},
	{"strictatime", MOUNT_ATTR_STRICTATIME},
};

/* -o: remember what the idmap backend can do itself. */
static void parse_fuse_opts(struct mount_opts *o, const char *arg)
{
	static const char *const idmap_ok[] = {
		"ro", "rw", "nosuid", "nodev", "suid", "dev", "allow_other"};
	_cleanup_free_ char *copy = strdup(arg);
	char *save = NULL, *tok;
	size_t i;

	if (!copy)
		die(EXIT_FAIL, "out of memory");
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		bool ok = false;

		if (!strcmp(tok, "ro"))
			o->read_only = true;
		else if (!strcmp(tok, "suid"))
			o->suid = true;
		else if (!strcmp(tok, "dev"))
			o->dev = true;
		else if (!strcmp(tok, "allow_other"))
			o->allow_other = true;
		else if (!strncmp(tok, "fsname=", 7))
			o->fsname = strdup(tok + 7);
		else if (!strncmp(tok, "max_read=", 9))
			o->max_read = strdup(tok + 9);
		for (i = 0; i < sizeof(mount_flags) / sizeof(mount_flags[0]);
		     i++)
			if (!strcmp(tok, mount_flags[i].name))
				o->mattr |= mount_flags[i].set;
		for (i = 0; i < sizeof(idmap_ok) / sizeof(idmap_ok[0]); i++)
			ok |= !strcmp(tok, idmap_ok[i]);
		if (!ok && !o->fuse_only) {
			o->fuse_only = strdup(tok);
			if (!o->fuse_only)
				die(EXIT_FAIL, "out of memory");
		}
	}
	o->fuse_opts = arg;
}

/* Owner mode's default owner: whoever owns SRC. */
static void default_owner(struct mapsrc *ms, int src_fd, const char *src)
{
	static char buf[32];
	struct stat st;

	if (!ms->user_spec || ms->owner_spec)
		return;
	if (fstat(src_fd, &st) < 0)
		die(EXIT_FAIL, "SRC %s: %s", src, strerror(errno));
	snprintf(buf, sizeof(buf), "%u:%u", (unsigned)st.st_uid,
		 (unsigned)st.st_gid);
	ms->owner_spec = buf;
}

static void report(const struct mount_opts *o, const struct mount_result *r,
		   const struct idmaps *m)
{
	static char u[IDMAP_MAX_RANGES * 36], g[IDMAP_MAX_RANGES * 36];

	idmap_format_spec(&m->uid, u, sizeof(u));
	idmap_format_spec(&m->gid, g, sizeof(g));
	const char *ro = o->read_only ? ", read-only" : "";

	if (r->backend == BACKEND_IDMAP)
		printf("%s: mounted %s at %s with idmap (%s); uid map %s, "
		       "gid map %s%s\n",
		       program_name, r->src, r->mnt, r->why, u, g, ro);
	else
		printf("%s: mounted %s at %s with fuse (shiftfs daemon pid %d; "
		       "%s); uid map %s, gid map %s%s\n",
		       program_name, r->src, r->mnt, (int)r->pid, r->why, u, g,
		       ro);
	if (o->private_dir)
		printf("%s: bind %s into the container\n", program_name,
		       r->mnt);
}

static void print_warnings(const struct mount_warnings *w)
{
	size_t i;

	for (i = 0; i < w->n; i++)
		warn("%s", w->msg[i]);
}

static void parse_backend(struct mount_opts *o, const char *arg)
{
	if (!strcmp(arg, "auto"))
		o->backend = BACKEND_AUTO;
	else if (!strcmp(arg, "idmap"))
		o->backend = BACKEND_IDMAP;
	else if (!strcmp(arg, "fuse"))
		o->backend = BACKEND_FUSE;
	else
		usage_error("mount",
			    "--backend takes auto, idmap or fuse, "
			    "not '%s'",
			    arg);
}

/* Options into o, ms and *json; false when --help was printed. */
static bool parse_args(int argc, char **argv, struct mount_opts *o,
		       struct mapsrc *ms, bool *json)
{
	struct opts p;
	int c, npos;

	opts_init(&p, "hro:", groups);
	while ((c = opts_next(&p, argc, argv)) != -1) {
		if (mapsrc_option(ms, c, optarg))
			continue;
		switch (c) {
		case 'r':
			o->read_only = true;
			break;
		case OPT_BACKEND:
			parse_backend(o, optarg);
			break;
		case 'o':
			parse_fuse_opts(o, optarg);
			break;
		case OPT_FORCE:
			o->force = true;
			break;
		case OPT_MKDIR:
			o->mkdir = true;
			break;
		case OPT_PRIVATE:
			o->private_dir = true;
			break;
		case OPT_ALLOW_SUID_SRC:
			o->allow_suid_src = true;
			break;
		case OPT_JSON:
			*json = true;
			break;
		case 'h':
			usage();
			return false;
		default:
			usage_try("mount");
		}
	}
	npos = argc - optind;
	if (o->private_dir ? npos < 1 || npos > 2 : npos != 2)
		usage_error("mount", o->private_dir
					     ? "--private takes SRC [NAME]"
					     : "give SRC and MNT");
	if (ms->owner_spec && !ms->user_spec)
		usage_error("mount", "--owner goes with --user");
	if (o->backend == BACKEND_IDMAP && o->fuse_only)
		usage_error("mount", "-o %s needs the FUSE backend",
			    o->fuse_only);
	return true;
}

/* What mount_make did: its warnings, the record (--json) or one line. */
static void print_result(const struct mount_opts *o, struct mount_result *r,
			 const struct idmaps *m, bool json)
{
	print_warnings(&r->warnings);
	if (r->record_err < 0)
		warn("cannot record the mount (shiftctl status will show "
		     "less): "
		     "%s",
		     r->record_err == -EPERM && runtime_dir_msg()[0]
			     ? runtime_dir_msg()
			     : strerror(-r->record_err));
	else if (runtime_dir_msg()[0])
		fprintf(stderr, "%s: note: %s\n", program_name,
			runtime_dir_msg());
	if (json)
		json_print(r->record);
	else {
		json_object_put(r->record);
		report(o, r, m);
	}
	print_warnings(&r->notes);
}

/*
 * Owner mode hands SRC's owner's files to the container user: the caller
 * (as root, the user who ran sudo), when not a view id of the map, is
 * "other" through MNT (by design). Say so once, after the mount's line.
 */
static void owner_mode_note(const struct mapsrc *ms, const struct idmaps *m,
			    const struct mount_result *r)
{
	uid_t me = geteuid();
	uint32_t disk, view;

	if (me == 0 && !mapsrc_sudo_user(&me))
		return;
	if (!ms->req.owner_mode || idmap_to_disk(&m->uid, me, &disk) == 0)
		return;
	if (idmap_to_view(&m->uid, ms->req.owner_uid, &view) < 0)
		return;
	fprintf(stderr,
		"%s: note: owner mode: through %s the files of uid %u are "
		"container user uid %u's, and you (uid %u) get only what "
		"others may; use %s itself (shiftctl-mount(1), Owner mode)\n",
		program_name, r->mnt, (unsigned)ms->req.owner_uid,
		(unsigned)view, (unsigned)me, r->src);
}

int cmd_mount(int argc, char **argv)
{
	static struct mount_result res;
	static struct mount_opts o;
	bool json = false;
	struct mapsrc ms;
	struct idmaps m;
	char what[128];

	mapsrc_init(&ms, "mount");
	o.private_uid = -1;
	if (!parse_args(argc, argv, &o, &ms, &json))
		return EXIT_OK;
	if (o.private_dir && geteuid() == 0)
		o.private_uid = mapsrc_rootless_uid(&ms, true);
	mount_open(&o, argv[optind],
		   argc - optind > 1 ? argv[optind + 1] : NULL, &res);
	default_owner(&ms, res.src_fd, res.src);
	mapsrc_build(&ms, true, &m);
	mapsrc_release(&ms); /* the container's files are read by now */
	mount_check(&o, &m, &res);
	print_warnings(&res.warnings);
	mapsrc_describe(&ms, what, sizeof(what));
	o.layout = what;
	o.owner_mode = ms.req.owner_mode;
	mount_make(&o, &m, &res);
	print_result(&o, &res, &m, json);
	owner_mode_note(&ms, &m, &res);
	return EXIT_OK;
}
