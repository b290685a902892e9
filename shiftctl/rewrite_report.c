/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the rewrite verbs (chown, shift, undo) print while the engine runs
 * and at the end of each walk (rewrite.h's struct rewrite_report_ops):
 * per-inode lines and the summary, as text or --json, from the result the
 * engine fills.
 */
#include <stdint.h>
#include <stdio.h>

#include "progress.h"
#include "rewrite_cli.h"
#include "shiftctl.h"

static void report_change(const char *path, uint32_t ou, uint32_t og,
			  uint32_t nu, uint32_t ng, bool extra)
{
	progress_clear();
	printf("%s: %u:%u -> %u:%u%s\n", path, ou, og, nu, ng,
	       extra ? " (+acl/caps)" : "");
}

static void report_other_owner(const char *path, uint32_t uid, uint32_t gid)
{
	printf("%s: owned by %u:%u, not --from: left alone\n", path, uid, gid);
}

static void report_unmappable(const char *path, uint32_t uid, uint32_t gid,
			      bool acl, bool caps)
{
	progress_clear();
	fprintf(stderr,
		"%s: %s: owner %u:%u%s%s has no image under the map, left "
		"unchanged\n",
		program_name, path, uid, gid, acl ? " (or an ACL entry)" : "",
		caps ? " (or its capability root id)" : "");
}

static void report_skipped(const char *path, const char *why)
{
	progress_clear();
	fprintf(stderr, "%s: %s: %s: left as it is\n", program_name, path, why);
}

/* The "owners" array: each owner pair and its count. */
static struct json_object *json_pairs(const struct rewrite_result *res)
{
	const struct rewrite_pair *pairs = res->pairs;
	struct json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; i < res->npairs; i++) {
		struct json_object *e = json_object_new_object();
		char b[32];

		snprintf(b, sizeof(b), "%u:%u", pairs[i].ou, pairs[i].og);
		json_object_object_add(e, "from", json_object_new_string(b));
		snprintf(b, sizeof(b), "%u:%u", pairs[i].nu, pairs[i].ng);
		json_object_object_add(e, "to", json_object_new_string(b));
		json_object_object_add(
			e, "count", json_object_new_int64((int64_t)pairs[i].n));
		json_object_array_add(a, e);
	}
	return a;
}

static void summary_json(const struct rewrite_result *res)
{
	const struct rewrite_opts *o = res->o;
	const struct rewrite_counts *t = res->t;
	struct json_object *j = json_object_new_object();

	json_object_object_add(j, "verb",
			       json_object_new_string(rewrite_mode_name(o)));
	json_object_object_add(j, "path", json_object_new_string(res->path));
	json_object_object_add(j, "dry_run",
			       json_object_new_boolean(o->dry_run));
	json_object_object_add(
		j, "journal",
		res->journal ? json_object_new_string(res->journal) : NULL);
#define ADD(k, v)                                                              \
	json_object_object_add(j, k, json_object_new_int64((int64_t)(v)))
	ADD("inodes_visited", res->visited);
	ADD("changed", t->changed);
	ADD("skipped_correct", t->correct);
	ADD("unmappable", t->unmappable);
	ADD("other_owner", t->other_owner);
	ADD("hard_links", res->hardlinks);
	ADD("acl_changed", t->acl_changed);
	ADD("caps_restored", t->caps_restored);
	ADD("setid_restored", t->setid_restored);
	ADD("mounts_skipped", res->mounts_skipped);
	ADD("errors", res->errors);
	if (o->mode != RW_UNDO)
		ADD("links_outside", res->links_outside);
	if (res->from_journal)
		ADD("skipped_changed", t->skipped_changed);
	if (res->from_journal)
		ADD("journalled_found", t->matched);
	if (o->mode == RW_UNDO)
		ADD("journalled_missing", res->journalled - t->matched);
#undef ADD
	json_object_object_add(j, "elapsed_s",
			       json_object_new_double(res->elapsed));
	json_object_object_add(j, "owners", json_pairs(res));
	json_print(j);
}

static void summary_text(const struct rewrite_result *res)
{
	const struct rewrite_opts *o = res->o;
	const struct rewrite_counts *t = res->t;
	const struct rewrite_pair *pairs = res->pairs;
	size_t np = res->npairs, i;
	char a[32], b[32], c[32], d[32], e[32], f[32];

	printf("%s%s: %s inodes: %s %s, %s already correct",
	       rewrite_mode_name(o), o->dry_run ? " (dry run)" : "",
	       fmt_count(res->visited, a), fmt_count(t->changed, b),
	       o->dry_run	    ? "would change"
	       : o->mode == RW_UNDO ? "restored"
				    : "changed",
	       fmt_count(t->correct, c));
	if (t->unmappable)
		printf(", %s unmappable (left unchanged)",
		       fmt_count(t->unmappable, a));
	if (t->other_owner)
		printf(", %s with other owners (skipped)",
		       fmt_count(t->other_owner, a));
	printf(", %s hard links, %s ACLs, %s caps, %s "
	       "setuid/setgid %s, %s errors, %.2f s\n",
	       fmt_count(res->hardlinks, a), fmt_count(t->acl_changed, b),
	       fmt_count(t->caps_restored, c), fmt_count(t->setid_restored, d),
	       o->dry_run ? "would be restored" : "restored",
	       fmt_count(res->errors, e), res->elapsed);
	if (t->skipped_changed)
		printf("%s: %s skipped: changed since the run "
		       "(left as they are)\n",
		       rewrite_mode_name(o), fmt_count(t->skipped_changed, a));
	if (res->links_outside)
		printf("%s: %s left as they are: hard links outside the "
		       "tree\n",
		       rewrite_mode_name(o), fmt_count(res->links_outside, a));
	if (o->mode == RW_UNDO && res->journalled > t->matched)
		printf("undo: %s journalled inodes not found in the "
		       "tree\n",
		       fmt_count(res->journalled - t->matched, a));
	for (i = 0; i < np && i < REWRITE_REPORT_MAX; i++)
		printf("  %u:%u -> %u:%u  %s\n", pairs[i].ou, pairs[i].og,
		       pairs[i].nu, pairs[i].ng, fmt_count(pairs[i].n, a));
	if (np > REWRITE_REPORT_MAX)
		printf("  ... and %s more owner pairs\n",
		       fmt_count(np - REWRITE_REPORT_MAX, f));
}

static void report_summary(const struct rewrite_result *res)
{
	if (res->o->json)
		summary_json(res);
	else if (!res->o->quiet || res->o->dry_run)
		summary_text(res);
}

const struct rewrite_report_ops rewrite_report_ops = {
	.change = report_change,
	.other_owner = report_other_owner,
	.unmappable = report_unmappable,
	.skipped = report_skipped,
	.summary = report_summary,
};
