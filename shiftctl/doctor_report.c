/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shiftctl doctor's report: the text and the --json document, both from
 * the engine's struct doctor, and the --json entries list filled during
 * the scan (doctor_list_json).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cleanup.h"
#include "doctor.h"
#include "doctor_report.h"

/*
 * One line of the text report, newline added. The whole line goes through
 * tty_escape(): names from the tree, the mount table and the container's
 * passwd and group files are whatever bytes their creator chose, and none
 * of them may reach the terminal as a control sequence or a line break.
 * The formats themselves hold no backslash, so only values are changed.
 */
static void tline(FILE *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void tline(FILE *out, const char *fmt, ...)
{
	_cleanup_free_ char *raw = NULL, *esc = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&raw, fmt, ap);
	va_end(ap);
	if (r < 0)
		die(EXIT_FAIL, "out of memory");
	esc = tty_escape(raw);
	fprintf(out, "%s\n", esc);
}

/* A line built in pieces (open_memstream), then printed with tline(). */
struct piece_line {
	char *buf;
	size_t len;
	FILE *f;
};

static void pl_open(struct piece_line *pl)
{
	pl->buf = NULL;
	pl->len = 0;
	pl->f = open_memstream(&pl->buf, &pl->len);
	if (!pl->f)
		die(EXIT_FAIL, "out of memory");
}

static void pl_print(struct piece_line *pl, FILE *out)
{
	if (fclose(pl->f) != 0 || !pl->buf)
		die(EXIT_FAIL, "out of memory");
	tline(out, "%s", pl->buf);
	free(pl->buf);
}

static const char *type_name(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFDIR:
		return "dir";
	case S_IFREG:
		return "file";
	case S_IFLNK:
		return "symlink";
	case S_IFIFO:
		return "fifo";
	case S_IFSOCK:
		return "socket";
	case S_IFCHR:
		return "chardev";
	case S_IFBLK:
		return "blockdev";
	}
	return "unknown";
}

static struct json_object *json_container_id(const struct idmap *m,
					     uint32_t host)
{
	uint32_t c;

	if (idmap_to_disk(m, host, &c) < 0)
		return NULL;
	return json_object_new_int64(c);
}

static void reason_json(void *ctx, const char *what, const char *why)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "access", json_string_bytes(what));
	json_object_object_add(o, "reason", json_string_bytes(why));
	json_object_array_add(ctx, o);
}

void doctor_list_json(void *ctx, const struct doctor *dr, const char *rel,
		      const struct stat *st, const struct access_inode *ino,
		      const struct verdict *v)
{
	struct json_object *o = json_object_new_object();
	struct json_object *rs = json_object_new_array();
	char mode[8];

	bfmt(mode, sizeof(mode), "%04o", (unsigned)ino->mode & 07777);
	json_add_bytes(o, "path", rel);
	json_object_object_add(o, "type",
			       json_string_bytes(type_name(ino->mode)));
	json_object_object_add(o, "disk_uid",
			       json_object_new_int64(st->st_uid));
	json_object_object_add(o, "disk_gid",
			       json_object_new_int64(st->st_gid));
	json_object_object_add(
		o, "container_uid",
		ino->uid == ACCESS_ID_INVALID
			? NULL
			: json_container_id(&dr->maps.uid, st->st_uid));
	json_object_object_add(
		o, "container_gid",
		ino->gid == ACCESS_ID_INVALID
			? NULL
			: json_container_id(&dr->maps.gid, st->st_gid));
	json_object_object_add(o, "mode", json_string_bytes(mode));
	json_object_object_add(o, "acl",
			       json_object_new_boolean(ino->acl != NULL));
	json_object_object_add(o, "reachable",
			       json_object_new_boolean(v->reachable));
	json_object_object_add(o, "read", json_object_new_boolean(v->read));
	json_object_object_add(o, "write", json_object_new_boolean(v->write));
	json_object_object_add(o, "exec", json_object_new_boolean(v->exec));
	json_object_object_add(
		o, "delete",
		v->del == 1 ? NULL : json_object_new_boolean(v->del == 0));
	json_object_object_add(o, "ok", json_object_new_boolean(v->ok));
	doctor_reasons(dr, v, reason_json, rs);
	json_object_object_add(o, "reasons", rs);
	json_object_array_add(ctx, o);
}

static const char *cname(uint32_t c, bool uid, bool mapped,
			 const struct doctor *dr)
{
	(void)dr;
	if (!mapped)
		return uid ? "nobody" : "nogroup";
	if (c == 0)
		return "root";
	return NULL;
}

static void owner_line(const struct doctor *dr, const struct owner_stat *os,
		       FILE *out)
{
	char a[32], b[32], who[64];
	uint32_t cu = dr->maps.overflow_uid, cg = dr->maps.overflow_gid;
	bool um = idmap_to_disk(&dr->maps.uid, os->uid, &cu) == 0;
	bool gm = idmap_to_disk(&dr->maps.gid, os->gid, &cg) == 0;
	const char *nu = cname(cu, true, um, dr),
		   *ng = cname(cg, false, gm, dr);

	if (!um)
		cu = dr->maps.overflow_uid;
	if (!gm)
		cg = dr->maps.overflow_gid;
	struct piece_line pl;

	bfmt(who, sizeof(who), "USER %s", dr->user_spec);
	pl_open(&pl);
	fprintf(pl.f,
		"  %s entries owned by host %u:%u appear in the "
		"container as %u:%u",
		fmt_count(os->entries, a), os->uid, os->gid, cu, cg);
	if (nu || ng)
		fprintf(pl.f, " (%s:%s)", nu ? nu : "-", ng ? ng : "-");
	if (!um || !gm)
		fprintf(pl.f, ", the overflow id: %s not mapped",
			!um && !gm ? "uid and gid are"
			: !um	   ? "the uid is"
				   : "the gid is");
	pl_print(&pl, out);
	if (!os->not_ok) {
		tline(out, "    %s has the access needed on all of them", who);
		return;
	}
	if (os->unreachable)
		tline(out, "    %s cannot reach %s of them", who,
		      fmt_count(os->unreachable, a));
	if (os->no_read)
		tline(out, "    %s cannot read %s of them", who,
		      fmt_count(os->no_read, a));
	if (os->no_write)
		tline(out, "    %s cannot write %s of them", who,
		      fmt_count(os->no_write, a));
	if (os->no_delete)
		tline(out,
		      "    %s cannot delete or rename %s of them "
		      "(sticky directory)",
		      who, fmt_count(os->no_delete, a));
	if (os->no_exec)
		tline(out, "    %s cannot execute %s of them", who,
		      fmt_count(os->no_exec, b));
	for (int i = 0; i < os->nsamples; i++)
		tline(out, "      e.g. %s", os->samples[i]);
}

/* The engine's layout, and a daemon.json remap not used here. */
static void notes_engine(const struct doctor *dr,
			 void (*cb)(void *ctx, const char *note), void *ctx)
{
	char buf[700];

	if (dr->engine && dr->rootless)
		bfmt(buf, sizeof(buf),
		     "rootless %s: the container's root is host uid %u, "
		     "its other ids are your subordinate ids; files you "
		     "own on the host appear as root inside",
		     dr->engine, dr->root_mapped ? dr->root_k_uid : 0);
	else if (dr->rootless)
		bfmt(buf, sizeof(buf),
		     "rootless engine: the container's root is host uid "
		     "%u, its other ids are subordinate ids",
		     dr->root_mapped ? dr->root_k_uid : 0);
	else if (dr->ms.req.kind == LAYOUT_USERNS_REMAP && dr->remap_user[0])
		bfmt(buf, sizeof(buf),
		     "docker userns-remap=%s is configured: container ids "
		     "are shifted into %s's subordinate range",
		     dr->remap_user, dr->remap_user);
	else
		buf[0] = '\0';
	if (buf[0])
		cb(ctx, buf);
	if (dr->remap_user[0] && dr->ms.req.kind != LAYOUT_USERNS_REMAP &&
	    !dr->rootless) {
		bfmt(buf, sizeof(buf),
		     "docker's daemon.json sets userns-remap=%s, but the "
		     "map used here is not that layout; rootful docker "
		     "containers use --userns-remap=%s",
		     dr->remap_user, dr->remap_user);
		cb(ctx, buf);
	}
}

/* The mount: read-only, noexec, nosuid, SELinux, a shifted view. */
static void notes_mount(const struct doctor *dr,
			void (*cb)(void *ctx, const char *note), void *ctx)
{
	char buf[700], a[32];

	if (dr->rofs) {
		bfmt(buf, sizeof(buf),
		     "%s is on a read-only mount (%s): every write fails "
		     "with EROFS whatever the owners",
		     dr->path, dr->mnt_point);
		cb(ctx, buf);
	}
	if (dr->noexec) {
		bfmt(buf, sizeof(buf),
		     "%s is mounted noexec (%s): programs on it cannot "
		     "be executed",
		     dr->path, dr->mnt_point);
		cb(ctx, buf);
	}
	if (dr->nosuid && dr->setid_files) {
		bfmt(buf, sizeof(buf),
		     "%s is mounted nosuid: the setuid/setgid bits of %s "
		     "files have no effect",
		     dr->path, fmt_count(dr->setid_files, a));
		cb(ctx, buf);
	}
	if (dr->selinux) {
		bfmt(buf, sizeof(buf),
		     "SELinux is enforcing: add :z (shared) or :Z "
		     "(private) to the -v option so the container may "
		     "use the files");
		cb(ctx, buf);
	}
	if (!strncmp(dr->fstype, "fuse.shiftfs", 12)) {
		bfmt(buf, sizeof(buf), "%s is already on a shiftfs mount (%s)",
		     dr->path, dr->mnt_point);
		cb(ctx, buf);
	}
	if (dr->shifted_view) {
		bfmt(buf, sizeof(buf),
		     "%s is a shifted view: owners shown there as %u:%u (the "
		     "overflow ids) are unmapped and match nobody, not even "
		     "root",
		     dr->mnt_point, dr->kernel_ov_uid, dr->kernel_ov_gid);
		cb(ctx, buf);
	}
	if (dr->via_source) {
		bfmt(buf, sizeof(buf),
		     "judged as USER sees the mount, not with your own "
		     "rights there: the entries were read from its source "
		     "%s and each owner taken through the mount's map "
		     "(from shiftctl's record of it)",
		     dr->view_src);
		cb(ctx, buf);
	}
}

/* What the scan did not cover. */
static void notes_scan(const struct doctor *dr,
		       void (*cb)(void *ctx, const char *note), void *ctx)
{
	char buf[700], a[32];

	if (dr->skipped_mounts) {
		bfmt(buf, sizeof(buf),
		     "%s directories are other mounts and were not "
		     "scanned",
		     fmt_count(dr->skipped_mounts, a));
		cb(ctx, buf);
	}
	if (dr->truncated) {
		bfmt(buf, sizeof(buf),
		     "the scan stopped after %s entries (--max-files): "
		     "the rest of the tree was not checked",
		     fmt_count(dr->scanned, a));
		cb(ctx, buf);
	}
	if (dr->first_error) {
		bfmt(buf, sizeof(buf), "could not read everything: %s",
		     dr->first_error);
		cb(ctx, buf);
	}
}

static void notes(const struct doctor *dr,
		  void (*cb)(void *ctx, const char *note), void *ctx)
{
	notes_engine(dr, cb, ctx);
	notes_mount(dr, cb, ctx);
	notes_scan(dr, cb, ctx);
}

static void note_text(void *ctx, const char *note)
{
	tline(ctx, "  note: %s", note);
}

static void note_json(void *ctx, const char *note)
{
	json_object_array_add(ctx, json_string_bytes(note));
}

static const char *need_str(unsigned need)
{
	return need == ACCESS_R		       ? "r"
	       : need == (ACCESS_R | ACCESS_W) ? "rw"
					       : "rwx";
}

/* The volume, the engine or map, and USER's ids. */
static void text_user(const struct doctor *dr)
{
	char desc[160];
	size_t i;

	mapsrc_describe(&dr->ms, desc, sizeof(desc));
	tline(stdout, "Volume %s, container USER %s (%s needed)", dr->realpath,
	      dr->user_spec, need_str(dr->need));
	if (dr->map_given == LAYOUT_EXPLICIT || dr->map_given == LAYOUT_PID)
		tline(stdout,
		      "Map: %s, as given (engine for the commands below: %s)",
		      desc, dr->engine ? dr->engine : "docker");
	else
		tline(stdout, "Engine: %s%s (from %s); map: %s",
		      dr->rootless ? "rootless " : "rootful ",
		      dr->engine ? dr->engine : "container engine",
		      dr->engine_why, desc);
	tline(stdout,
	      "  the container's uid %u%s%s%s is host uid %u; gid %u is host "
	      "gid %u",
	      dr->c_uid, dr->c_name[0] ? " (" : "", dr->c_name,
	      dr->c_name[0] ? ")" : "", dr->k_uid, dr->c_gid, dr->k_gid);
	if (dr->c_ngroups > 1) {
		struct piece_line pl;

		pl_open(&pl);
		fprintf(pl.f, "  supplementary groups:");
		for (i = 1; i < dr->c_ngroups; i++) {
			uint32_t k;

			if (idmap_to_view(&dr->maps.gid, dr->c_groups[i], &k) ==
			    0)
				fprintf(pl.f, " %u (host %u)", dr->c_groups[i],
					k);
			else
				fprintf(pl.f, " %u (unmapped: dropped)",
					dr->c_groups[i]);
		}
		pl_print(&pl, stdout);
	}
	if (dr->c_uid != 0 && dr->root_mapped)
		tline(stdout, "  the container's root is host uid %u",
		      dr->root_k_uid);
	if (dr->c_uid == 0)
		tline(stdout,
		      "  USER is the container's root: its capabilities "
		      "override modes only on entries whose owner and group "
		      "are both mapped");
}

/* The tree: its owners, what USER lacks on each, the notes. */
static void text_tree(const struct doctor *dr)
{
	char a[32], b[32];
	size_t i;

	printf("\n");
	tline(stdout, "Tree: %s entries scanned on %s (%s)%s",
	      fmt_count(dr->scanned, a), dr->mnt_point, dr->fstype,
	      dr->acl_entries ? "" : "; no ACLs");
	if (dr->acl_entries)
		tline(stdout, "  %s entries carry POSIX ACLs",
		      fmt_count(dr->acl_entries, b));
	for (i = 0; i < dr->nowners; i++)
		owner_line(dr, &dr->owners[i], stdout);
	if (dr->other_owners.entries)
		owner_line(dr, &dr->other_owners, stdout);
	printf("\n");
	notes(dr, note_text, stdout);
}

static void text_fixes(const struct doctor *dr, const struct fix *fx, int nfix)
{
	char a[32], b[32];

	printf("\nFixes, best first:\n");
	for (int k = 0; k < nfix; k++) {
		struct piece_line pl;

		pl_open(&pl);
		fprintf(pl.f, "  %d. %s", k + 1, fx[k].summary);
		if (fx[k].remaining == 0)
			fprintf(pl.f, " (fixes all %s denied %s)",
				fmt_count(dr->failed[SC_ASIS], a),
				dr->failed[SC_ASIS] == 1 ? "entry" : "entries");
		else if (fx[k].remaining > 0 &&
			 (uint64_t)fx[k].remaining < dr->failed[SC_ASIS])
			fprintf(pl.f, " (fixes %s of the %s denied entries)",
				fmt_count(dr->failed[SC_ASIS] -
						  (uint64_t)fx[k].remaining,
					  a),
				fmt_count(dr->failed[SC_ASIS], b));
		else if (fx[k].remaining > 0)
			fprintf(pl.f,
				" (fixes none of the %s denied entries by "
				"itself)",
				fmt_count(dr->failed[SC_ASIS], b));
		pl_print(&pl, stdout);
		for (int c = 0; c < fx[k].ncmd; c++) {
			/* A command is printed as it must be pasted, or not
			 * at all: escaping it would change what it names,
			 * and its raw bytes could drive the terminal. */
			if (tty_safe(fx[k].commands[c]))
				printf("       %s\n", fx[k].commands[c]);
			else
				printf("       # not shown: it names a path "
				       "holding control characters or bytes "
				       "that are not UTF-8; --json gives it "
				       "exactly (fixes[].commands, "
				       "commands_hex)\n");
		}
	}
}

void doctor_print_text(const struct doctor *dr)
{
	const struct fix *fx = dr->fixes;
	int nfix = dr->nfix;
	char a[32], b[32];

	text_user(dr);
	text_tree(dr);

	if (doctor_all_ok(dr)) {
		tline(stdout,
		      "Verdict: USER %s has %s access to all %s entries. "
		      "Nothing needs changing.",
		      dr->user_spec, need_str(dr->need),
		      fmt_count(dr->scanned, a));
		return;
	}
	if (dr->failed[SC_ASIS])
		tline(stdout, "Verdict: USER %s lacks %s access to %s of %s "
			      "entries.",
		      dr->user_spec, need_str(dr->need),
		      fmt_count(dr->failed[SC_ASIS], a),
		      fmt_count(dr->scanned, b));
	else
		printf("Verdict: no problem in the %s entries scanned, but "
		       "the tree was not scanned completely (see the notes).\n",
		       fmt_count(dr->scanned, a));
	if (!nfix)
		return;
	text_fixes(dr, fx, nfix);
}

static struct json_object *json_u32_array(const uint32_t *v, size_t n)
{
	struct json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_int64(v[i]));
	return a;
}

static struct json_object *json_owner(const struct doctor *dr,
				      const struct owner_stat *os)
{
	struct json_object *o = json_object_new_object();
	uint32_t c;

#define NUM(k, v) json_object_object_add(o, k, json_object_new_int64(v))
	NUM("disk_uid", os->uid);
	NUM("disk_gid", os->gid);
	json_object_object_add(o, "container_uid",
			       json_container_id(&dr->maps.uid, os->uid));
	json_object_object_add(o, "container_gid",
			       json_container_id(&dr->maps.gid, os->gid));
	NUM("shown_uid", idmap_to_disk(&dr->maps.uid, os->uid, &c) == 0
				 ? c
				 : dr->maps.overflow_uid);
	NUM("shown_gid", idmap_to_disk(&dr->maps.gid, os->gid, &c) == 0
				 ? c
				 : dr->maps.overflow_gid);
	NUM("entries", os->entries);
	NUM("denied", os->not_ok);
	NUM("unreachable", os->unreachable);
	NUM("cannot_read", os->no_read);
	NUM("cannot_write", os->no_write);
	NUM("cannot_delete", os->no_delete);
	NUM("cannot_exec", os->no_exec);
#undef NUM
	return o;
}

static struct json_object *json_user(const struct doctor *dr)
{
	struct json_object *u = json_object_new_object();

	json_object_object_add(u, "spec", json_string_bytes(dr->user_spec));
	json_object_object_add(u, "name",
			       dr->c_name[0] ? json_string_bytes(dr->c_name)
					     : NULL);
	json_object_object_add(u, "uid", json_object_new_int64(dr->c_uid));
	json_object_object_add(u, "gid", json_object_new_int64(dr->c_gid));
	json_object_object_add(u, "groups",
			       json_u32_array(dr->c_groups, dr->c_ngroups));
	json_object_object_add(u, "host_uid", json_object_new_int64(dr->k_uid));
	json_object_object_add(u, "host_gid", json_object_new_int64(dr->k_gid));
	json_object_object_add(u, "host_groups",
			       json_u32_array(dr->k_groups, dr->k_ngroups));
	json_object_object_add(u, "container_root",
			       json_object_new_boolean(dr->c_uid == 0));
	return u;
}

static struct json_object *json_engine(const struct doctor *dr)
{
	struct json_object *e = json_object_new_object();

	json_object_object_add(
		e, "name", dr->engine ? json_string_bytes(dr->engine) : NULL);
	json_object_object_add(e, "rootless",
			       json_object_new_boolean(dr->rootless));
	json_object_object_add(e, "detected_from",
			       json_string_bytes(dr->engine_why));
	json_object_object_add(
		e, "userns_remap",
		dr->remap_user[0] ? json_string_bytes(dr->remap_user) : NULL);
	json_object_object_add(e, "selinux",
			       json_object_new_boolean(dr->selinux));
	return e;
}

static struct json_object *json_map(const struct doctor *dr)
{
	struct json_object *m = json_object_new_object();

	json_object_object_add(
		m, "layout",
		json_string_bytes(layout_kind_name(dr->ms.req.kind)));
	json_object_object_add(m, "uid_map", json_idmap(&dr->maps.uid));
	json_object_object_add(m, "gid_map", json_idmap(&dr->maps.gid));
	json_object_object_add(m, "overflow_uid",
			       json_object_new_int64(dr->maps.overflow_uid));
	json_object_object_add(m, "overflow_gid",
			       json_object_new_int64(dr->maps.overflow_gid));
	json_object_object_add(
		m, "root_host_uid",
		dr->root_mapped ? json_object_new_int64(dr->root_k_uid) : NULL);
	return m;
}

static struct json_object *json_mount(const struct doctor *dr)
{
	struct json_object *t = json_object_new_object();

	json_add_bytes(t, "mount_point", dr->mnt_point);
	json_object_object_add(t, "fstype", json_string_bytes(dr->fstype));
	json_object_object_add(t, "read_only",
			       json_object_new_boolean(dr->rofs));
	json_object_object_add(t, "noexec",
			       json_object_new_boolean(dr->noexec));
	json_object_object_add(t, "nosuid",
			       json_object_new_boolean(dr->nosuid));
	json_object_object_add(t, "shifted_view",
			       json_object_new_boolean(dr->shifted_view));
	if (dr->via_source)
		json_add_bytes(t, "read_from_source", dr->view_src);
	else
		json_object_object_add(t, "read_from_source", NULL);
	return t;
}

static struct json_object *json_fixes(const struct doctor *dr,
				      const struct fix *fx, int nfix)
{
	struct json_object *a = json_object_new_array();

	for (int k = 0; k < nfix; k++) {
		struct json_object *f = json_object_new_object(), *c;

		json_object_object_add(f, "rank", json_object_new_int(k + 1));
		json_object_object_add(f, "kind",
				       json_string_bytes(fx[k].kind));
		json_object_object_add(f, "summary",
				       json_string_bytes(fx[k].summary));
		json_object_object_add(
			f, "remaining",
			fx[k].remaining >= 0
				? json_object_new_int64(fx[k].remaining)
				: NULL);
		json_object_object_add(
			f, "fixes",
			fx[k].remaining >= 0
				? json_object_new_int64(
					  (int64_t)dr->failed[SC_ASIS] -
					  fx[k].remaining)
				: NULL);
		c = json_object_new_array();
		for (int j = 0; j < fx[k].ncmd; j++)
			json_object_array_add(
				c, json_string_bytes(fx[k].commands[j]));
		json_object_object_add(f, "commands", c);
		for (int j = 0; j < fx[k].ncmd; j++) {
			/* The exact bytes of every command, when one holds
			 * a name that is not UTF-8. */
			if (utf8_valid(fx[k].commands[j]))
				continue;
			c = json_object_new_array();
			for (int h = 0; h < fx[k].ncmd; h++)
				json_object_array_add(
					c, json_hex_bytes(fx[k].commands[h]));
			json_object_object_add(f, "commands_hex", c);
			break;
		}
		json_object_array_add(a, f);
	}
	return a;
}

void doctor_print_json(const struct doctor *dr, struct json_object *entries)
{
	struct json_object *o = json_object_new_object(), *a;
	size_t i;

	json_add_bytes(o, "path", dr->realpath);
	json_object_object_add(o, "need",
			       json_string_bytes(need_str(dr->need)));
	json_object_object_add(o, "ok",
			       json_object_new_boolean(doctor_all_ok(dr)));

	json_object_object_add(o, "user", json_user(dr));
	json_object_object_add(o, "engine", json_engine(dr));
	json_object_object_add(o, "map", json_map(dr));
	json_object_object_add(o, "mount", json_mount(dr));

	json_object_object_add(o, "scanned",
			       json_object_new_int64(dr->scanned));
	json_object_object_add(
		o, "complete",
		json_object_new_boolean(!dr->truncated && !dr->first_error));
	json_object_object_add(o, "denied",
			       json_object_new_int64(dr->failed[SC_ASIS]));
	json_object_object_add(o, "acl_entries",
			       json_object_new_int64(dr->acl_entries));
	a = json_object_new_array();
	for (i = 0; i < dr->nowners; i++)
		json_object_array_add(a, json_owner(dr, &dr->owners[i]));
	json_object_object_add(o, "owners", a);
	json_object_object_add(o, "entries_listed",
			       json_string_bytes(dr->list_none	? "none"
						 : dr->list_all ? "all"
								: "denied"));
	json_object_object_add(o, "entries", entries);

	a = json_object_new_array();
	notes(dr, note_json, a);
	json_object_object_add(o, "notes", a);

	json_object_object_add(o, "fixes", json_fixes(dr, dr->fixes, dr->nfix));
	json_print(o);
}
