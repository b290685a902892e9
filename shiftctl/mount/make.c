/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shiftctl mount's last two steps: mount_check (with the map: refuse an
 * empty map, a foreign overflow id, a second mount on one of ours; the
 * warnings to print before mounting) and mount_make (choose.c mounts; the
 * warnings known only after it; the state record, saved).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mount_int.h"
#include "mounts.h"
#include "shiftctl.h"

static struct json_object *record(const struct mount_opts *o,
				  const struct mount_result *r,
				  const struct idmaps *m, enum backend b)
{
	static char spec[IDMAP_MAX_RANGES * 36];
	struct json_object *j = json_object_new_object();
	json_object_object_add(j, "mountpoint", json_object_new_string(r->mnt));
	json_object_object_add(j, "source", json_object_new_string(r->src));
	json_object_object_add(
		j, "backend",
		json_object_new_string(b == BACKEND_IDMAP ? "idmap" : "fuse"));
	json_object_object_add(j, "reason", json_object_new_string(r->why));
	if (r->via_helper)
		json_object_object_add(j, "helper",
				       json_object_new_boolean(true));
	json_object_object_add(j, "layout", json_object_new_string(o->layout));
	json_object_object_add(j, "owner_mode",
			       json_object_new_boolean(o->owner_mode));
	json_object_object_add(j, "read_only",
			       json_object_new_boolean(o->read_only));
	idmap_format_spec(&m->uid, spec, sizeof(spec));
	json_object_object_add(j, "uid_map_spec", json_object_new_string(spec));
	idmap_format_spec(&m->gid, spec, sizeof(spec));
	json_object_object_add(j, "gid_map_spec", json_object_new_string(spec));
	json_object_object_add(j, "uid_map", json_idmap(&m->uid));
	json_object_object_add(j, "gid_map", json_idmap(&m->gid));
	json_object_object_add(j, "overflow_uid",
			       json_object_new_int64(m->overflow_uid));
	json_object_object_add(j, "overflow_gid",
			       json_object_new_int64(m->overflow_gid));
	json_object_object_add(j, "mount_id", json_object_new_int(r->mnt_id));
	if (r->mnt_uniq)
		json_object_object_add(
			j, "mount_id_unique",
			json_object_new_int64((int64_t)r->mnt_uniq));
	json_object_object_add(j, "uid", json_object_new_int64(geteuid()));
	if (b == BACKEND_FUSE) {
		unsigned long long start;
		char state;

		json_object_object_add(j, "pid", json_object_new_int(r->pid));
		if (proc_stat(r->pid, &state, &start) == 0)
			json_object_object_add(
				j, "pid_start",
				json_object_new_int64((int64_t)start));
		json_object_object_add(j, "log",
				       json_object_new_string(r->log));
	}
	if (o->fuse_opts)
		json_object_object_add(j, "options",
				       json_object_new_string(o->fuse_opts));
	return j;
}

/* A FUSE mount at MNT that shiftctl did not record, whose daemon is gone:
 * say how to clear it instead of failing later in the daemon. */
/* Dies: MNT is a dead FUSE mount. */
static void check_dead_fuse(const struct mount_result *r)
{
	static struct mnt_entry e;
	char why[256], *q;

	if (mnt_find(r->mnt, &e) < 0 || strncmp(e.fstype, "fuse", 4) ||
	    !fuse_mount_dead(r->mnt, NULL, why, sizeof(why)))
		return;
	q = sh_quote(r->mnt);
	if (!strcmp(e.fstype, SHIFTFS_FSTYPE))
		die(EXIT_FAIL,
		    "%s is a %s mount that shiftctl did not record, and %s: "
		    "'%s umount --force %s' clears it",
		    r->mnt, e.fstype, why, program_name, q);
	die(EXIT_FAIL,
	    "%s is a %s mount, and %s: 'fusermount3 -u %s' (as root "
	    "'umount %s') clears it",
	    r->mnt, e.fstype, why, q, q);
}

/* Refuse to stack a second shifted mount on one we already have. */
/* Dies: MNT is already a shifted mount of ours. */
static void check_not_ours(const struct mount_result *r)
{
	struct json_object *st = NULL;
	unsigned long long uniq;
	char why[256], *q;
	long long id;
	int now = -1;

	if (state_read(r->mnt, &st) < 0) {
		check_dead_fuse(r);
		return;
	}
	id = state_int(st, "mount_id");
	/* MNT's fd is the root of the mount on top of it, if any. */
	if (mnt_id_at(r->mnt_fd, "", &now, &uniq) < 0)
		now = -1;
	if (id >= 0 && now == id && !strcmp(state_str(st, "backend"), "fuse") &&
	    fuse_mount_dead(r->mnt, st, why, sizeof(why)))
		die(EXIT_FAIL,
		    "%s is a shifted mount whose daemon is dead (%s): "
		    "'%s umount %s' clears it",
		    r->mnt, why, program_name, q = sh_quote(r->mnt));
	json_object_put(st);
	if (id >= 0 && now == id)
		die(EXIT_FAIL,
		    "%s is already a shifted mount (shiftctl umount "
		    "%s first)",
		    r->mnt, r->mnt);
	state_remove(r->mnt); /* stale */
	check_dead_fuse(r);
}

/* Dies: an empty map, a foreign overflow id or a mount of ours at MNT end
 * the command with the message the user sees. */
void mount_check(const struct mount_opts *o, const struct idmaps *m,
		 struct mount_result *r)
{
	r->warnings.n = 0;
	if (m->uid.n == 0 || m->gid.n == 0)
		die(EXIT_FAIL, "the map is empty: nothing would be visible");
	check_overflow(m);
	check_not_ours(r);
	if (geteuid() == 0)
		safety_warning(o, r, m);
}

void mount_make(const struct mount_opts *o, const struct idmaps *m,
		struct mount_result *r)
{
	r->warnings.n = 0;
	r->notes.n = 0;
	r->backend = choose_and_mount(o, r, m);
	if (geteuid() != 0)
		safety_warning(o, r, m); /* allow_other is known now */
	r->record = record(o, r, m, r->backend);
	r->record_err = state_write(r->mnt, r->record);
	rootless_notes(o, r, r->backend);
}
