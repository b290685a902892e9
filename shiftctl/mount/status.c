/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shiftctl status's engine: the active shifted mounts. State files say
 * what the kernel cannot (maps, backend, daemon pid); mountinfo says what
 * is really mounted. A state file whose mount is gone is stale: dropped,
 * and listed once as "stale"; a fuse.shiftfs or idmapped mount without one
 * is still listed. A FUSE mount whose daemon is gone is listed "dead".
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mounts.h"

struct status_ctx {
	struct json_object *list; /* array of mount records */
	struct json_object *stale; /* records removed: listed last */
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

/* "state": "active", or "dead" with "problem" (a FUSE daemon gone). */
static void add_health(struct json_object *o, const char *mnt, bool fuse,
		       struct json_object *rec)
{
	char why[256];

	if (fuse && fuse_mount_dead(mnt, rec, why, sizeof(why))) {
		json_object_object_add(o, "state",
				       json_object_new_string("dead"));
		json_object_object_add(o, "problem",
				       json_object_new_string(why));
		return;
	}
	json_object_object_add(o, "state", json_object_new_string("active"));
}

/* A record whose mount is gone, listed once as "stale" as it is removed. */
static void add_stale(struct status_ctx *c, struct json_object *obj,
		      const char *mnt)
{
	struct json_object *o;

	if (c->only && strcmp(c->only, mnt))
		return;
	o = json_object_new_object();
	json_object_object_add(o, "mountpoint", json_object_new_string(mnt));
	json_object_object_add(
		o, "source", json_object_new_string(state_str(obj, "source")));
	json_object_object_add(
		o, "backend",
		json_object_new_string(state_str(obj, "backend")));
	json_object_object_add(o, "recorded", json_object_new_boolean(1));
	json_object_object_add(o, "state", json_object_new_string("stale"));
	json_object_object_add(
		o, "problem",
		json_object_new_string("not mounted any more (unmounted "
				       "without shiftctl umount): its record "
				       "was removed"));
	json_object_array_add(c->stale, o);
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
		if (!state_mount_exists(obj) && state_remove(mnt) == 0)
			add_stale(c, obj, mnt);
		(void)path;
		return 0;
	}
	if (c->only && strcmp(c->only, mnt))
		return 0;
	json_object_object_add(obj, "fstype", json_object_new_string(e.fstype));
	json_object_object_add(obj, "recorded", json_object_new_boolean(1));
	add_health(obj, mnt, !strcmp(state_str(obj, "backend"), "fuse"), obj);
	json_object_array_add(c->list, json_object_get(obj));
	return 0;
}

static int visit_mount(const struct mnt_entry *e, void *ctx)
{
	struct status_ctx *c = ctx;
	bool fuse = !strcmp(e->fstype, SHIFTFS_FSTYPE);
	struct json_object *o;
	char src[PATH_MAX * 2 + 2], own[32];

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
	/* Only our own FUSE mount is statfs()ed: another user's daemon could
	 * leave the call hanging. */
	snprintf(own, sizeof(own), "user_id=%u", (unsigned)geteuid());
	if (fuse && !mnt_opt_has(e->super, own))
		json_object_object_add(o, "state",
				       json_object_new_string("unknown"));
	else
		add_health(o, e->target, fuse, NULL);
	json_object_array_add(c->list, o);
	return 0;
}

int mount_status_list(const char *only, struct json_object **list,
		      int *state_err)
{
	struct status_ctx c = {NULL, NULL, only};
	size_t i;
	int r;

	c.list = json_object_new_array();
	c.stale = json_object_new_array();
	*state_err = state_foreach(visit_state, &c);
	r = mnt_foreach(visit_mount, &c);
	if (r < 0) {
		json_object_put(c.list);
		json_object_put(c.stale);
		*list = NULL;
		return r;
	}
	for (i = 0; i < json_object_array_length(c.stale); i++)
		json_object_array_add(
			c.list,
			json_object_get(json_object_array_get_idx(c.stale, i)));
	json_object_put(c.stale);
	*list = c.list;
	return 0;
}
