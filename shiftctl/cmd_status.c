/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shiftctl status: the active shifted mounts (mount.h, mount/status.c
 * gathers them from the state records and mountinfo), as text or --json;
 * --stats adds each FUSE daemon's request counts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mount.h"
#include "parse_int.h"
#include "shiftctl.h"

enum { OPT_JSON = OPT_VERB_FIRST, OPT_STATS };

/* clang-format off */
static const struct opt_def status_defs[] = {
	{"json", no_argument, OPT_JSON,
	 "     --json                 print a JSON array\n"},
	{"stats", no_argument, OPT_STATS,
	 "     --stats                with each FUSE daemon's requests per\n"
	 "                            operation and their mean time\n"},
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
	fputs("\nExit status: 0 ok, 1 failure (MNT is not a shifted mount, its\n"
	      "daemon is dead, or --stats got no counts from it), 2 usage\n"
	      "error.\n"
	      "\nFor more details see shiftctl-mount(1).\n",
	      stdout);
}

static int by_requests(const void *a, const void *b)
{
	long long x = state_int(*(struct json_object *const *)a, "requests");
	long long y = state_int(*(struct json_object *const *)b, "requests");

	return x < y ? 1 : x > y ? -1 : 0;
}

/* "  requests: N" and one line per operation, most requests first. */
static void print_stats(struct json_object *o)
{
	struct json_object *st = json_object_object_get(o, "stats"), *ops;
	struct json_object *v[64];
	char buf[32];
	size_t i, n;

	if (!st) {
		if (json_object_object_get(o, "stats_unavailable"))
			printf("  requests: unavailable: %s\n",
			       state_str(o, "stats_unavailable"));
		return;
	}
	ops = json_object_object_get(st, "ops");
	n = json_object_array_length(ops);
	if (n > sizeof(v) / sizeof(v[0]))
		n = sizeof(v) / sizeof(v[0]);
	for (i = 0; i < n; i++)
		v[i] = json_object_array_get_idx(ops, i);
	qsort(v, n, sizeof(v[0]), by_requests);
	printf("  requests: %s since the daemon started\n",
	       fmt_count((unsigned long long)state_int(st, "total"), buf));
	for (i = 0; i < n; i++)
		printf("    %-16s %12s  mean %.1f us\n", state_str(v[i], "op"),
		       fmt_count((unsigned long long)state_int(v[i],
							     "requests"),
				 buf),
		       json_object_get_double(
			       json_object_object_get(v[i], "mean_us")));
}

static void print_text(struct json_object *list)
{
	size_t i, n = json_object_array_length(list);

	for (i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(list, i);
		const char *backend = state_str(o, "backend");

		const char *st = state_str(o, "state");
		char *qm = sh_quote(state_str(o, "mountpoint"));
		char *qs = sh_quote(state_str(o, "source"));

		if (!strcmp(st, "stale")) {
			printf("%s: %s, backend %s, STALE: %s\n", qm, qs,
			       backend, state_str(o, "problem"));
			free(qm);
			free(qs);
			continue;
		}
		if (!strcmp(st, "dead")) {
			bool rec = json_object_get_boolean(
				json_object_object_get(o, "recorded"));

			printf("%s: %s, backend %s, DEAD: %s; '%s umount %s%s' "
			       "clears it\n",
			       qm, qs, backend, state_str(o, "problem"),
			       program_name, rec ? "" : "--force ", qm);
			free(qm);
			free(qs);
			continue;
		}
		printf("%s: %s, backend %s", qm, qs, backend);
		free(qm);
		free(qs);
		if (state_int(o, "pid") > 0)
			printf(" (shiftfs pid %lld)", state_int(o, "pid"));
		if (json_object_get_boolean(
			    json_object_object_get(o, "helper")))
			printf(" (via shiftfs-idmap-helper)");
		if (!json_object_get_boolean(
			    json_object_object_get(o, "recorded"))) {
			printf(", %s mount not recorded by shiftctl: maps "
			       "unknown\n",
			       state_str(o, "fstype"));
			print_stats(o);
			continue;
		}
		printf(", %s, uid map %s, gid map %s%s\n",
		       state_str(o, "layout"), state_str(o, "uid_map_spec"),
		       state_str(o, "gid_map_spec"),
		       json_object_get_boolean(
			       json_object_object_get(o, "read_only"))
			       ? ", read-only"
			       : "");
		print_stats(o);
	}
}

int cmd_status(int argc, char **argv)
{
	struct json_object *list;
	const char *only = NULL;
	char mnt[PATH_MAX];
	bool json = false, stats = false;
	struct opts p;
	int ch, r, state_err;
	size_t i;

	opts_init(&p, "h", groups);
	while ((ch = opts_next(&p, argc, argv)) != -1) {
		switch (ch) {
		case OPT_JSON:
			json = true;
			break;
		case OPT_STATS:
			stats = true;
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
		only = mnt;
	}
	r = mount_status_list(only, &list, &state_err);
	if (state_err < 0)
		warn("reading state files: %s", strerror(-state_err));
	if (r < 0)
		die(EXIT_FAIL, "reading mountinfo: %s", strerror(-r));
	if (only && json_object_array_length(list) == 1 &&
	    !strcmp(state_str(json_object_array_get_idx(list, 0), "state"),
		    "stale")) {
		json_object_put(list);
		die(EXIT_FAIL,
		    "%s is not a shifted mount (any more: it was unmounted "
		    "without shiftctl umount, and its stale record was "
		    "removed)",
		    only);
	}
	if (only && json_object_array_length(list) == 0) {
		json_object_put(list);
		die(EXIT_FAIL, "%s is not a shifted mount", only);
	}
	/* status MNT of a dead mount: listed, and exit 1 (not usable). */
	r = only && !strcmp(state_str(json_object_array_get_idx(list, 0),
				      "state"),
			    "dead")
		    ? EXIT_FAIL
		    : EXIT_OK;
	/* Asked of active mounts only (a dead or stale one is listed so). */
	for (i = 0; stats && i < json_object_array_length(list); i++) {
		struct json_object *o = json_object_array_get_idx(list, i);

		if (!strcmp(state_str(o, "state"), "active") &&
		    mount_status_stats(o) < 0 && only &&
		    !strcmp(state_str(o, "backend"), "fuse"))
			r = EXIT_FAIL;
	}
	if (json) {
		json_print(list);
		return r;
	}
	print_text(list);
	json_object_put(list);
	return r;
}
