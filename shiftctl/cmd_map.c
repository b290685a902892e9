/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shiftctl map: print the uid and gid maps a layout gives, in
 * /proc/PID/uid_map form or as JSON, or translate one id through them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse_int.h"
#include "shiftctl.h"

enum {
	OPT_JSON = OPT_VERB_FIRST,
	OPT_TRANSLATE,
	OPT_REVERSE,
	OPT_ONLY,
};

struct map_opts {
	bool json, reverse, translate;
	uint32_t id;
	const char *only; /* "uid", "gid" or NULL */
};

/* clang-format off */
static const struct opt_def map_defs[] = {
	{"translate", required_argument, OPT_TRANSLATE,
	 "     --translate=ID         show what disk id ID becomes (uid and gid)\n"},
	{"reverse", no_argument, OPT_REVERSE,
	 "     --reverse              with --translate: view id -> disk id\n"},
	{"only", required_argument, OPT_ONLY,
	 "     --only=uid|gid         print one map only, without headers\n"},
	{"json", no_argument, OPT_JSON,
	 "     --json                 print JSON\n"},
	OPT_DEF_HELP,
	OPT_DEF_END,
};
/* clang-format on */

static const struct opt_group map_opts_group = {NULL, map_defs};
static const struct opt_group *const groups[] = {
	&mapsrc_source_opts, &mapsrc_file_opts, &mapsrc_owner_opts,
	&map_opts_group,     NULL,
};

static void usage(void)
{
	printf("\nUsage:\n %s map [MAP SOURCE] [options]\n", program_name);
	fputs("\nPrint the uid and gid maps of a layout as DISK VIEW COUNT lines\n"
	      "(the /proc/PID/uid_map form: DISK is the container-side id, VIEW\n"
	      "the host-side id), or show what one id becomes.\n",
	      stdout);
	opts_help(stdout, groups);
	fputs("\nWith no map source, --rootless for the invoking user is used.\n"
	      "Exit status: 0 ok, 1 failure (or --translate of an unmapped id),\n"
	      "2 usage error.\n"
	      "\nFor more details see shiftctl(1).\n",
	      stdout);
}

static void print_text(const struct idmaps *m, const char *what,
		       const char *only)
{
	static char buf[IDMAP_MAX_RANGES * 36];

	if (!only || !strcmp(only, "uid")) {
		if (!only)
			printf("# uid map of %s: disk view count\n", what);
		idmap_format(&m->uid, buf, sizeof(buf));
		fputs(buf, stdout);
	}
	if (!only || !strcmp(only, "gid")) {
		if (!only)
			printf("# gid map of %s: disk view count\n", what);
		idmap_format(&m->gid, buf, sizeof(buf));
		fputs(buf, stdout);
	}
	if (!only)
		printf("# unmapped disk ids are shown as %u:%u\n",
		       m->overflow_uid, m->overflow_gid);
}

static void print_json(const struct idmaps *m, const struct mapsrc *ms)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "layout", json_object_new_string(
		layout_kind_name(ms->req.kind)));
	json_object_object_add(o, "owner_mode",
			       json_object_new_boolean(ms->req.owner_mode));
	json_object_object_add(o, "uid_map", json_idmap(&m->uid));
	json_object_object_add(o, "gid_map", json_idmap(&m->gid));
	json_object_object_add(o, "overflow_uid",
			       json_object_new_int64(m->overflow_uid));
	json_object_object_add(o, "overflow_gid",
			       json_object_new_int64(m->overflow_gid));
	json_print(o);
}

/* Translate id through one map; returns true when mapped. */
static bool translate_one(const struct idmap *map, uint32_t overflow,
			  const struct map_opts *o, uint32_t *out)
{
	bool mapped = idmap_translate(map, !o->reverse, o->id, out) == 0;

	if (!mapped && !o->reverse)
		*out = overflow;
	return mapped;
}

static int translate(const struct idmaps *m, const struct map_opts *o)
{
	const char *from = o->reverse ? "view" : "disk";
	const char *to = o->reverse ? "disk" : "view";
	uint32_t u = 0, g = 0;
	bool um = translate_one(&m->uid, m->overflow_uid, o, &u);
	bool gm = translate_one(&m->gid, m->overflow_gid, o, &g);

	if (o->json) {
		struct json_object *j = json_object_new_object();
		const bool mapped[2] = {um, gm};
		const uint32_t res[2] = {u, g};
		int i;

		for (i = 0; i < 2; i++) {
			struct json_object *e = json_object_new_object();
			json_object_object_add(e, from,
					       json_object_new_int64(o->id));
			json_object_object_add(
				e, to,
				mapped[i] || !o->reverse
					? json_object_new_int64(res[i])
					: NULL);
			json_object_object_add(
				e, "mapped", json_object_new_boolean(mapped[i]));
			json_object_object_add(j, i ? "gid" : "uid", e);
		}
		json_print(j);
	} else {
		const char *kinds[2] = {"uid", "gid"};
		const bool mapped[2] = {um, gm};
		const uint32_t res[2] = {u, g};
		int i;

		for (i = 0; i < 2; i++) {
			if (mapped[i])
				printf("%s %s %u -> %s %s %u\n", from, kinds[i],
				       o->id, to, kinds[i], res[i]);
			else if (!o->reverse)
				printf("%s %s %u -> %s %s %u (unmapped: overflow id)\n",
				       from, kinds[i], o->id, to, kinds[i],
				       res[i]);
			else
				printf("%s %s %u -> unmapped (EOVERFLOW)\n",
				       from, kinds[i], o->id);
		}
	}
	return um && gm ? EXIT_OK : EXIT_FAIL;
}

int cmd_map(int argc, char **argv)
{
	struct map_opts o = {0};
	struct mapsrc ms;
	struct idmaps m;
	char what[128];
	struct opts p;
	int c, r;

	mapsrc_init(&ms, "map");
	opts_init(&p, "h", groups);
	while ((c = opts_next(&p, argc, argv)) != -1) {
		if (mapsrc_option(&ms, c, optarg))
			continue;
		switch (c) {
		case OPT_JSON:
			o.json = true;
			break;
		case OPT_TRANSLATE:
			r = parse_u32(optarg, 0, UINT32_MAX - 1, &o.id);
			if (r < 0)
				usage_error("map", "--translate '%s': %s",
					    optarg, parse_u32_reason(r));
			o.translate = true;
			break;
		case OPT_REVERSE:
			o.reverse = true;
			break;
		case OPT_ONLY:
			if (strcmp(optarg, "uid") && strcmp(optarg, "gid"))
				usage_error("map", "--only takes uid or gid, not '%s'",
					    optarg);
			o.only = optarg;
			break;
		case 'h':
			usage();
			return EXIT_OK;
		default:
			usage_try("map");
		}
	}
	if (optind < argc)
		usage_error("map", "unexpected argument '%s'", argv[optind]);
	if (!ms.user_spec != !ms.owner_spec)
		usage_error("map", "owner mode needs both --user and --owner");
	if (o.reverse && !o.translate)
		usage_error("map", "--reverse goes with --translate");
	mapsrc_build(&ms, true, &m);
	mapsrc_release(&ms);
	if (o.translate)
		return translate(&m, &o);
	if (o.json) {
		print_json(&m, &ms);
		return EXIT_OK;
	}
	mapsrc_describe(&ms, what, sizeof(what));
	print_text(&m, what, o.only);
	return EXIT_OK;
}
