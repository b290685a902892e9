/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shiftctl status: the active shifted mounts. State files say what the
 * kernel cannot (maps, backend, daemon pid); mountinfo says what is really
 * mounted. A state file whose mount is gone is stale and dropped; a
 * fuse.shiftfs or idmapped mount without one is still listed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mounts.h"
#include "shiftctl.h"

enum { OPT_JSON = OPT_VERB_FIRST };

/* clang-format off */
static const struct opt_def status_defs[] = {
	{"json", no_argument, OPT_JSON,
	 "     --json                 print a JSON array\n"},
	OPT_DEF_HELP,
	OPT_DEF_END,
};
/* clang-format on */

static const struct opt_group status_group = {"Options:", status_defs};
static const struct opt_group *const groups[] = {&status_group, NULL};

static void usage(void)
{
	printf("\nUsage:\n %s status [options] [MNT]\n", program_name);
	fputs("\nList active shiftfs and idmapped mounts with their source,\n"
	      "backend and maps (or only MNT).\n",
	      stdout);
	opts_help(stdout, groups);
	fputs("\nExit status: 0 ok, 1 failure (MNT is not a shifted mount),\n"
	      "2 usage error.\n"
	      "\nFor more details see shiftctl-mount(1).\n",
	      stdout);
}

struct status_ctx {
	struct json_object *list; /* array of mount records */
	const char *only;	  /* MNT, or NULL for all */
};

static bool listed(const struct status_ctx *c, const char *target,
		   bool below_idmap)
{
	size_t i, n = json_object_array_length(c->list);

	for (i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(c->list, i);
		const char *m = state_str(o, "mountpoint");
		size_t len = strlen(m);

		if (!strcmp(m, target))
			return true;
		/* Submounts carried by a recorded idmapped tree. */
		if (below_idmap && !strcmp(state_str(o, "backend"), "idmap") &&
		    !strncmp(target, m, len) && target[len] == '/')
			return true;
	}
	return false;
}

static int visit_state(const char *path, struct json_object *obj, void *ctx)
{
	struct status_ctx *c = ctx;
	const char *mnt = state_str(obj, "mountpoint");
	static struct mnt_entry e;
	bool active;

	active = mnt_find(mnt, &e) == 0 && e.id == state_int(obj, "mount_id");
	if (active && !strcmp(state_str(obj, "backend"), "fuse"))
		active = !strcmp(e.fstype, SHIFTFS_FSTYPE);
	else if (active)
		active = mnt_is_idmapped(&e);
	if (!active) {
		/* Stale: the mount went away without shiftctl umount. (One
		 * that a rename on its path moved is kept, not listed.) */
		if (!state_mount_exists(obj))
			state_remove(mnt);
		(void)path;
		return 0;
	}
	if (c->only && strcmp(c->only, mnt))
		return 0;
	json_object_object_add(obj, "fstype", json_object_new_string(e.fstype));
	json_object_object_add(obj, "recorded", json_object_new_boolean(1));
	json_object_array_add(c->list, json_object_get(obj));
	return 0;
}

static int visit_mount(const struct mnt_entry *e, void *ctx)
{
	struct status_ctx *c = ctx;
	bool fuse = !strcmp(e->fstype, SHIFTFS_FSTYPE);
	struct json_object *o;
	char src[PATH_MAX * 2 + 2];

	if (!fuse && !mnt_is_idmapped(e))
		return 0;
	if (c->only && strcmp(c->only, e->target))
		return 0;
	if (listed(c, e->target, !fuse))
		return 0;
	if (fuse)
		snprintf(src, sizeof(src), "%s", e->source);
	else /* the device and the directory within it */
		snprintf(src, sizeof(src), "%s:%s", e->source, e->root);
	o = json_object_new_object();
	json_object_object_add(o, "mountpoint",
			       json_object_new_string(e->target));
	json_object_object_add(o, "source", json_object_new_string(src));
	json_object_object_add(o, "backend",
			       json_object_new_string(fuse ? "fuse" : "idmap"));
	json_object_object_add(o, "fstype", json_object_new_string(e->fstype));
	json_object_object_add(o, "mount_id", json_object_new_int(e->id));
	json_object_object_add(o, "recorded", json_object_new_boolean(0));
	json_object_array_add(c->list, o);
	return 0;
}

static void print_text(struct json_object *list)
{
	size_t i, n = json_object_array_length(list);

	for (i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(list, i);
		const char *backend = state_str(o, "backend");

		char *qm = sh_quote(state_str(o, "mountpoint"));
		char *qs = sh_quote(state_str(o, "source"));

		printf("%s: %s, backend %s", qm, qs, backend);
		free(qm);
		free(qs);
		if (state_int(o, "pid") > 0)
			printf(" (shiftfs pid %lld)", state_int(o, "pid"));
		if (!json_object_get_boolean(
			    json_object_object_get(o, "recorded"))) {
			printf(", %s mount not recorded by shiftctl: maps "
			       "unknown\n",
			       state_str(o, "fstype"));
			continue;
		}
		printf(", %s, uid map %s, gid map %s%s\n",
		       state_str(o, "layout"), state_str(o, "uid_map_spec"),
		       state_str(o, "gid_map_spec"),
		       json_object_get_boolean(
			       json_object_object_get(o, "read_only"))
			       ? ", read-only"
			       : "");
	}
}

int cmd_status(int argc, char **argv)
{
	struct status_ctx c = {NULL, NULL};
	char mnt[PATH_MAX];
	bool json = false;
	struct opts p;
	int ch, r;

	opts_init(&p, "h", groups);
	while ((ch = opts_next(&p, argc, argv)) != -1) {
		switch (ch) {
		case OPT_JSON:
			json = true;
			break;
		case 'h':
			usage();
			return EXIT_OK;
		default:
			usage_try("status");
		}
	}
	if (argc - optind > 1)
		usage_error("status", "give at most one MNT");
	if (argc - optind == 1) {
		r = mnt_canonical(argv[optind], mnt, sizeof(mnt));
		if (r < 0)
			die(EXIT_FAIL, "%s: %s", argv[optind], strerror(-r));
		c.only = mnt;
	}
	c.list = json_object_new_array();
	r = state_foreach(visit_state, &c);
	if (r < 0)
		warn("reading state files: %s", strerror(-r));
	r = mnt_foreach(visit_mount, &c);
	if (r < 0)
		die(EXIT_FAIL, "reading mountinfo: %s", strerror(-r));
	if (c.only && json_object_array_length(c.list) == 0) {
		json_object_put(c.list);
		die(EXIT_FAIL, "%s is not a shifted mount", c.only);
	}
	if (json) {
		json_print(c.list);
		return EXIT_OK;
	}
	print_text(c.list);
	json_object_put(c.list);
	return EXIT_OK;
}
