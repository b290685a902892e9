/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shiftctl status's engine: the active shifted mounts. State files say
 * what the kernel cannot (maps, backend, daemon pid); mountinfo says what
 * is really mounted. A state file whose mount is gone is stale: dropped,
 * and listed once as "stale"; a fuse.shiftfs or idmapped mount without one
 * is still listed. A FUSE mount whose daemon is gone is listed "dead".
 * With --stats, a recorded FUSE mount's daemon is asked for its request
 * counts (mount_status_stats()).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"

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

#define STATS_WAIT_MS 3000
#define STATS_MAX 65536

static void unavailable(struct json_object *o, const char *why)
{
	json_object_object_add(o, "stats_unavailable",
			       json_object_new_string(why));
}

/*
 * The daemon's last dump, if it is a regular file of ours that nobody else
 * can write, and names pid: a new reference, or NULL.
 */
static struct json_object *read_stats(const char *path, long long pid)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct json_object *obj;
	char buf[STATS_MAX];
	struct stat st;
	ssize_t n;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid() || (st.st_mode & 022))
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	obj = json_tokener_parse(buf);
	if (!obj || !json_object_is_type(obj, json_type_object) ||
	    state_int(obj, "pid") != pid ||
	    !json_object_is_type(json_object_object_get(obj, "ops"),
				 json_type_array)) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

int mount_status_stats(struct json_object *o)
{
	const char *backend = state_str(o, "backend");
	const char *mnt = state_str(o, "mountpoint");
	long long pid = state_int(o, "pid");
	long long start = state_int(o, "pid_start");
	struct json_object *old, *now = NULL, *stats;
	struct timespec ts = {0, 10 * 1000000L};
	char path[PATH_MAX], why[PATH_MAX + 300];
	long long seq;
	int waited;

	if (strcmp(backend, "fuse")) {
		snprintf(why, sizeof(why),
			 "no daemon: the kernel shifts %s mounts, there are "
			 "no requests to count",
			 backend);
		unavailable(o, why);
		return -1;
	}
	if (!json_object_get_boolean(json_object_object_get(o, "recorded")) ||
	    pid <= 0 || start < 0) {
		unavailable(o, "not mounted by shiftctl: its daemon is not "
			       "known");
		return -1;
	}
	if (!strcmp(state_str(o, "state"), "dead") ||
	    daemon_gone((pid_t)pid, start)) {
		snprintf(why, sizeof(why), "its shiftfs daemon (pid %lld) is gone",
			 pid);
		unavailable(o, why);
		return -1;
	}
	if (mount_stats_path(mnt, path, sizeof(path), false) < 0) {
		unavailable(o, "no state directory for its request counts");
		return -1;
	}
	old = read_stats(path, pid);
	seq = old ? state_int(old, "seq") : -1;
	json_object_put(old);
	if (kill((pid_t)pid, SIGUSR1) < 0) {
		snprintf(why, sizeof(why),
			 "cannot signal its shiftfs daemon (pid %lld): %s", pid,
			 strerror(errno));
		unavailable(o, why);
		return -1;
	}
	for (waited = 0; waited < STATS_WAIT_MS; waited += 10) {
		nanosleep(&ts, NULL);
		now = read_stats(path, pid);
		if (now && state_int(now, "seq") > seq)
			break;
		json_object_put(now);
		now = NULL;
	}
	if (!now) {
		snprintf(why, sizeof(why),
			 "its shiftfs daemon (pid %lld) wrote no request "
			 "counts to %s within %d s (mounted by an older "
			 "shiftctl?)",
			 pid, path, STATS_WAIT_MS / 1000);
		unavailable(o, why);
		return -1;
	}
	stats = json_object_new_object();
	json_object_object_add(
		stats, "total",
		json_object_new_int64(state_int(now, "total")));
	json_object_object_add(
		stats, "ops",
		json_object_get(json_object_object_get(now, "ops")));
	json_object_object_add(o, "stats", stats);
	json_object_put(now);
	return 0;
}
