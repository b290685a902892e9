/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The plugin's volumes: their options (checked at Create, with a dry run
 * of the map in a child), their mounts (made by the mount engine in a
 * child on the first Mount, undone with mount_unmount() on the last
 * Unmount, reference-counted by the engine's request IDs), and the state
 * file that keeps both across restarts, written atomically (temporary
 * file, fsync, rename, fsync of the directory). Remove forgets a volume
 * and never touches its source.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "doctor.h"
#include "fdpath.h"
#include "mount.h"
#include "plugin_int.h"
#include "shiftctl.h"

static struct {
	const struct plugin_opts *o;
	char dir[PATH_MAX - 32], file[PATH_MAX];
	struct json_object *vols; /* name -> volume */
} V;

/* A volume's options, parsed (pointers into its "opts" object). */
struct volopts {
	const char *source, *user, *image, *backend;
	int map_opt; /* OPT_ROOTLESS, OPT_USERNS_REMAP, OPT_MAP or 0 */
	const char *map_arg;
	bool ro;
};

static const char *const known_opts =
	"source, user, image, rootless, userns-remap, map, ro, backend";

/* ---------------------------------------------------------------- state */

static int save(void)
{
	char tmp[PATH_MAX + 8];
	_cleanup_close_ int fd = -1, dfd = -1;
	struct json_object *top = json_object_new_object();
	const char *text;
	size_t len;
	int r = 0;

	json_object_object_add(top, "version", json_object_new_int(1));
	json_object_object_add(top, "volumes", json_object_get(V.vols));
	text = json_object_to_json_string_ext(
		top, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	len = strlen(text);
	snprintf(tmp, sizeof(tmp), "%s.tmp", V.file);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0)
		r = -errno;
	else if (write(fd, text, len) != (ssize_t)len ||
		 write(fd, "\n", 1) != 1 || fsync(fd) < 0)
		r = errno ? -errno : -EIO;
	else if (rename(tmp, V.file) < 0)
		r = -errno;
	json_object_put(top);
	if (r < 0) {
		unlink(tmp);
		warn("cannot save %s: %s", V.file, strerror(-r));
		return r;
	}
	dfd = open(V.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0)
		fsync(dfd);
	return 0;
}

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static struct json_object *jget(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

/* ---------------------------------------------------------------- options */

static int parse_bool(const char *v)
{
	if (!*v || !strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes"))
		return 1;
	if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no"))
		return 0;
	return -1;
}

/* opts (a JSON object of strings) into vo; false with err on a bad one. */
static bool parse_opts(struct json_object *opts, struct volopts *vo, char *err,
		       size_t len)
{
	static const struct {
		const char *key;
		int opt;
	} maps[] = {{"rootless", OPT_ROOTLESS},
		    {"userns-remap", OPT_USERNS_REMAP},
		    {"map", OPT_MAP}};
	const char *map_key = NULL;
	size_t i;

	memset(vo, 0, sizeof(*vo));
	if (!opts || !json_object_is_type(opts, json_type_object)) {
		snprintf(err, len,
			 "give -o source=DIR (the directory to "
			 "show in the volume)");
		return false;
	}
	json_object_object_foreach(opts, key, val)
	{
		const char *v = json_object_get_string(val);
		bool map = false;

		if (!json_object_is_type(val, json_type_string)) {
			snprintf(err, len, "option %s: not a string", key);
			return false;
		}
		for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
			if (strcmp(key, maps[i].key))
				continue;
			if (map_key) {
				snprintf(err, len,
					 "options %s and %s: give one map "
					 "source",
					 map_key, key);
				return false;
			}
			if (maps[i].opt != OPT_ROOTLESS && !*v) {
				snprintf(err, len, "option %s: needs a value",
					 key);
				return false;
			}
			map_key = key;
			vo->map_opt = maps[i].opt;
			vo->map_arg = *v ? v : NULL;
			map = true;
		}
		if (map)
			continue;
		if (!strcmp(key, "source"))
			vo->source = v;
		else if (!strcmp(key, "user"))
			vo->user = v;
		else if (!strcmp(key, "image"))
			vo->image = v;
		else if (!strcmp(key, "backend")) {
			if (strcmp(v, "auto") && strcmp(v, "idmap") &&
			    strcmp(v, "fuse")) {
				snprintf(err, len,
					 "option backend=%s: takes auto, "
					 "idmap or fuse",
					 v);
				return false;
			}
			vo->backend = v;
		} else if (!strcmp(key, "ro")) {
			int b = parse_bool(v);

			if (b < 0) {
				snprintf(err, len,
					 "option ro=%s: takes true or false",
					 v);
				return false;
			}
			vo->ro = b;
		} else {
			snprintf(err, len, "unknown option %s (options: %s)",
				 key, known_opts);
			return false;
		}
		if ((!strcmp(key, "source") || !strcmp(key, "user") ||
		     !strcmp(key, "image")) &&
		    !*v) {
			snprintf(err, len, "option %s: needs a value", key);
			return false;
		}
	}
	if (!vo->source) {
		snprintf(err, len,
			 "option source=DIR is required (the "
			 "directory to show in the volume)");
		return false;
	}
	if (vo->source[0] != '/') {
		snprintf(err, len, "option source=%s: give an absolute path",
			 vo->source);
		return false;
	}
	if (vo->user && vo->image) {
		snprintf(err, len,
			 "options user and image: give one (image "
			 "reads USER from the image)");
		return false;
	}
	return true;
}

/* ---------------------------------------------------------------- child */

struct vjob {
	const struct volopts *vo;
	const char *name;
	bool mount;
};

/* image=NAME's USER, resolved at Create ("UID:GID"), kept in the volume
 * so that a Mount never asks the engine (which is waiting for it). */
static const char *image_user(struct json_object *vol)
{
	struct json_object *v;

	if (!vol || !json_object_object_get_ex(vol, "image_user", &v))
		return NULL;
	return json_object_get_string(v);
}

/* The map source: the volume's, else serve's, else the default (the
 * invoking user's rootless layout; as root, identity). */
static void job_mapsrc(const struct volopts *vo, struct mapsrc *ms)
{
	const struct plugin_opts *o = V.o;
	int i;

	mapsrc_init(ms, "plugin");
	if (vo->map_opt) {
		/* serve's file options (--subuid-file, ...) still apply */
		for (i = 0; i < o->nmap; i++)
			if (o->map[i].opt != OPT_ROOTLESS &&
			    o->map[i].opt != OPT_USERNS_REMAP &&
			    o->map[i].opt != OPT_MAP &&
			    o->map[i].opt != OPT_PID &&
			    o->map[i].opt != OPT_UID_MAP &&
			    o->map[i].opt != OPT_GID_MAP)
				mapsrc_option(ms, o->map[i].opt, o->map[i].arg);
		mapsrc_option(ms, vo->map_opt, vo->map_arg);
	} else {
		for (i = 0; i < o->nmap; i++)
			mapsrc_option(ms, o->map[i].opt, o->map[i].arg);
		if (ms->req.kind == LAYOUT_NONE && geteuid() == 0)
			mapsrc_option(ms, OPT_MAP, "0:0:4294967295");
	}
	if (vo->user)
		ms->user_spec = vo->user;
}

/* Dies: SRC owned by someone else than a non-root plugin's user. */
static void check_owner(const struct volopts *vo, int fd, struct stat *st)
{
	if (fstat(fd, st) < 0)
		die(EXIT_FAIL, "source=%s: %s", vo->source, strerror(errno));
	if (!S_ISDIR(st->st_mode))
		die(EXIT_FAIL, "source=%s: not a directory", vo->source);
	if (geteuid() != 0 && st->st_uid != geteuid())
		die(EXIT_FAIL,
		    "source=%s is owned by uid %u, not by the plugin's user "
		    "(uid %u): a plugin that is not root serves only its "
		    "user's directories",
		    vo->source, (unsigned)st->st_uid, (unsigned)geteuid());
}

static void set_owner(struct mapsrc *ms, const struct stat *st)
{
	static char buf[32];

	if (!ms->user_spec)
		return;
	snprintf(buf, sizeof(buf), "%u:%u", (unsigned)st->st_uid,
		 (unsigned)st->st_gid);
	ms->owner_spec = buf;
}

/* Create's dry run: source checked, image=NAME's USER read (written to
 * out_fd), the map built. */
static void job_check(const struct vjob *j, int out_fd)
{
	struct volopts vo_img = *j->vo;
	const struct volopts *vo = &vo_img;
	_cleanup_close_ int fd = -1;
	char real[PATH_MAX], ids[32];
	struct mapsrc ms;
	struct idmaps m;
	struct stat st;
	uint32_t u, g;

	if (!realpath(vo->source, real))
		die(EXIT_FAIL, "source=%s: %s", vo->source, strerror(errno));
	fd = fdpath_open(real, O_DIRECTORY);
	if (fd == -ENOTDIR)
		die(EXIT_FAIL, "source=%s: not a directory", vo->source);
	if (fd < 0)
		die(EXIT_FAIL, "source=%s: %s", vo->source, strerror(-fd));
	check_owner(vo, fd, &st);
	if (vo->image) {
		doctor_image_ids(vo->image, V.o->engine, &u, &g);
		snprintf(ids, sizeof(ids), "%u:%u", (unsigned)u, (unsigned)g);
		vo_img.user = ids;
		if (write(out_fd, ids, strlen(ids)) < 0)
			die(EXIT_FAIL, "write: %s", strerror(errno));
	}
	job_mapsrc(vo, &ms);
	set_owner(&ms, &st);
	mapsrc_build(&ms, true, &m);
	mapsrc_release(&ms);
	if (m.uid.n == 0 || m.gid.n == 0)
		die(EXIT_FAIL, "the map is empty: nothing would be visible");
}

/* Mount: the mount engine, as shiftctl mount --private does. */
static void job_mount(const struct vjob *j, int out_fd)
{
	static struct mount_result res;
	static struct mount_opts mo;
	const struct volopts *vo = j->vo;
	char name[NAME_MAX], what[128];
	const char *text;
	struct mapsrc ms;
	struct idmaps m;
	struct stat st;

	mo.private_dir = true;
	mo.read_only = vo->ro;
	mo.backend = !vo->backend || !strcmp(vo->backend, "auto") ? BACKEND_AUTO
		     : !strcmp(vo->backend, "idmap") ? BACKEND_IDMAP
						     : BACKEND_FUSE;
	snprintf(name, sizeof(name), "volume-%s", j->name);
	mount_open(&mo, vo->source, name, &res);
	check_owner(vo, res.src_fd, &st);
	job_mapsrc(vo, &ms);
	set_owner(&ms, &st);
	mapsrc_build(&ms, true, &m);
	mapsrc_release(&ms);
	mount_check(&mo, &m, &res);
	mapsrc_describe(&ms, what, sizeof(what));
	mo.layout = what;
	mo.owner_mode = ms.req.owner_mode;
	mount_make(&mo, &m, &res);
	if (res.record_err < 0)
		warn("cannot record the mount: %s", strerror(-res.record_err));
	text = json_object_to_json_string(res.record);
	if (write(out_fd, text, strlen(text)) < 0)
		die(EXIT_FAIL, "write: %s", strerror(errno));
}

static void run_job(void *ctx, int out_fd)
{
	const struct vjob *j = ctx;

	if (j->mount)
		job_mount(j, out_fd);
	else
		job_check(j, out_fd);
}

/* ---------------------------------------------------------------- mounts */

/* The volume's mount as recorded is still there (by mount id). */
static bool mount_present(struct json_object *rec)
{
	struct json_object *list = NULL;
	const char *mnt = jstr(rec, "mountpoint");
	long long id = state_int(rec, "mount_id");
	bool found = false;
	size_t i, n;
	int serr;

	if (!mnt || mount_status_list(mnt, &list, &serr) < 0)
		return false;
	n = json_object_array_length(list);
	for (i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(list, i);

		if (!strcmp(state_str(e, "mountpoint"), mnt) &&
		    state_int(e, "mount_id") == id)
			found = true;
	}
	json_object_put(list);
	return found;
}

/* A FUSE mount whose shiftfs daemon is gone (daemon_gone()). */
static bool daemon_dead(struct json_object *rec)
{
	long long pid = state_int(rec, "pid");

	if (strcmp(state_str(rec, "backend"), "fuse") || pid <= 0)
		return false;
	return daemon_gone((pid_t)pid, state_int(rec, "pid_start"));
}

static int do_unmount(const char *mnt, bool lazy, char *err, size_t len)
{
	struct unmount_opts uo = {mnt, lazy, false};
	struct unmount_result ur;
	enum unmount_status s;

	memset(&ur, 0, sizeof(ur));
	s = mount_unmount(&uo, &ur);
	if (s == UNMOUNT_FAILED && ur.err == -EBUSY && !lazy) {
		uo.lazy = true;
		s = mount_unmount(&uo, &ur);
	}
	switch (s) {
	case UNMOUNT_OK:
	case UNMOUNT_NOT_MOUNTED:
		return 0;
	case UNMOUNT_FAILED:
	case UNMOUNT_LOOKUP:
		snprintf(err, len, "unmount %s: %s", mnt, strerror(-ur.err));
		return -1;
	default:
		snprintf(err, len,
			 "unmount %s: not the mount this plugin made (%s, "
			 "status %d): left alone",
			 mnt, ur.fstype, (int)s);
		return -1;
	}
}

/* ---------------------------------------------------------------- table */

int vol_init(const struct plugin_opts *o, char *why, size_t len)
{
	struct json_object *top;
	int r;

	V.o = o;
	if (o->state_dir)
		snprintf(V.dir, sizeof(V.dir), "%s", o->state_dir);
	else if ((r = plugin_default_state_dir(V.dir, sizeof(V.dir))) < 0) {
		snprintf(why, len,
			 "no state directory: set XDG_DATA_HOME or "
			 "HOME, or give --state-dir");
		return r;
	}
	r = fdpath_mkdir_p(V.dir, 0700);
	if (r < 0) {
		snprintf(why, len, "%s: %s", V.dir, strerror(-r));
		return r;
	}
	snprintf(V.file, sizeof(V.file), "%s/volumes.json", V.dir);
	top = json_object_from_file(V.file);
	if (!top && access(V.file, F_OK) == 0) {
		snprintf(why, len,
			 "%s: not a state file this plugin wrote "
			 "(move it away to start afresh)",
			 V.file);
		return -EINVAL;
	}
	V.vols = json_object_get(jget(top, "volumes"));
	json_object_put(top);
	if (!V.vols || !json_object_is_type(V.vols, json_type_object)) {
		json_object_put(V.vols);
		V.vols = json_object_new_object();
	}
	/* Reattach: a recorded mount still there keeps its references. */
	json_object_object_foreach(V.vols, name, vol)
	{
		struct json_object *rec = jget(vol, "mount");

		(void)name;
		if (rec && json_object_is_type(rec, json_type_object) &&
		    mount_present(rec))
			continue;
		json_object_object_add(vol, "mount", NULL);
		json_object_object_add(vol, "refs", json_object_new_array());
	}
	save();
	return 0;
}

void vol_fini(void)
{
	json_object_put(V.vols);
	V.vols = NULL;
}

static struct json_object *reply_err(struct json_object *rep, const char *fmt,
				     ...) __attribute__((format(printf, 2, 3)));

static struct json_object *reply_err(struct json_object *rep, const char *fmt,
				     ...)
{
	char buf[PLUGIN_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_object_object_add(rep, "Err", json_object_new_string(buf));
	return rep;
}

static bool name_ok(const char *n)
{
	return n && *n && *n != '.' && !strchr(n, '/') &&
	       strlen(n) < NAME_MAX - 16;
}

static const char *mountpoint_of(struct json_object *vol)
{
	const char *m = jstr(jget(vol, "mount"), "mountpoint");

	return m ? m : "";
}

static struct json_object *vol_create(struct json_object *req,
				      struct json_object *rep)
{
	const char *name = jstr(req, "Name");
	struct json_object *opts = jget(req, "Opts"), *vol, *old;
	_cleanup_free_ char *out = NULL;
	char err[PLUGIN_ERR_MAX];
	struct volopts vo;
	struct vjob j = {&vo, name, false};

	if (!name_ok(name))
		return reply_err(rep, "bad volume name");
	if (!opts)
		opts = json_object_new_object();
	else
		json_object_get(opts);
	if (!parse_opts(opts, &vo, err, sizeof(err)) ||
	    child_run(run_job, &j, &out, err, sizeof(err)) < 0) {
		json_object_put(opts);
		return reply_err(rep, "%s", err);
	}
	old = jget(V.vols, name);
	if (old) {
		bool same = json_object_equal(jget(old, "opts"), opts);

		json_object_put(opts);
		if (!same)
			return reply_err(rep,
					 "volume %s exists with other "
					 "options (remove it first)",
					 name);
		return reply_err(rep, "%s", "");
	}
	vol = json_object_new_object();
	json_object_object_add(vol, "opts", opts);
	if (vo.image)
		json_object_object_add(vol, "image_user",
				       json_object_new_string(out ? out : ""));
	json_object_object_add(vol, "refs", json_object_new_array());
	json_object_object_add(vol, "mount", NULL);
	json_object_object_add(V.vols, name, vol);
	save();
	return reply_err(rep, "%s", "");
}

static bool refs_has(struct json_object *refs, const char *id, size_t *at)
{
	size_t i, n = json_object_array_length(refs);

	for (i = 0; i < n; i++)
		if (!strcmp(json_object_get_string(
				    json_object_array_get_idx(refs, i)),
			    id)) {
			if (at)
				*at = i;
			return true;
		}
	return false;
}

static struct json_object *vol_mount(struct json_object *req,
				     struct json_object *rep)
{
	const char *name = jstr(req, "Name"), *id = jstr(req, "ID");
	struct json_object *vol = name ? jget(V.vols, name) : NULL;
	struct json_object *rec, *refs;
	_cleanup_free_ char *out = NULL;
	char err[PLUGIN_ERR_MAX];
	struct volopts vo;
	struct vjob j = {&vo, name, true};

	if (!vol)
		return reply_err(rep, "no such volume: %s", name ? name : "");
	if (!id)
		id = "";
	refs = jget(vol, "refs");
	rec = jget(vol, "mount");
	if (rec && mount_present(rec) && !daemon_dead(rec)) {
		if (!refs_has(refs, id, NULL))
			json_object_array_add(refs, json_object_new_string(id));
		save();
		json_object_object_add(
			rep, "Mountpoint",
			json_object_new_string(mountpoint_of(vol)));
		return reply_err(rep, "%s", "");
	}
	if (rec) {
		/* gone, or its daemon died: undo what is left, mount anew */
		if (mount_present(rec) &&
		    do_unmount(mountpoint_of(vol), true, err, sizeof(err)) < 0)
			return reply_err(rep, "%s", err);
		json_object_object_add(vol, "mount", NULL);
		json_object_object_add(vol, "refs", json_object_new_array());
		refs = jget(vol, "refs");
	}
	if (!parse_opts(jget(vol, "opts"), &vo, err, sizeof(err)))
		return reply_err(rep, "%s", err);
	if (vo.image) {
		vo.user = image_user(vol);
		vo.image = NULL;
	}
	if (child_run(run_job, &j, &out, err, sizeof(err)) < 0)
		return reply_err(rep, "%s", err);
	rec = out ? json_tokener_parse(out) : NULL;
	if (!rec)
		return reply_err(rep, "the mount engine gave no record");
	json_object_object_add(vol, "mount", rec);
	/* the directory Remove takes away (empty once unmounted) */
	json_object_object_add(vol, "dir",
			       json_object_new_string(mountpoint_of(vol)));
	json_object_array_add(refs, json_object_new_string(id));
	save();
	json_object_object_add(rep, "Mountpoint",
			       json_object_new_string(mountpoint_of(vol)));
	return reply_err(rep, "%s", "");
}

static struct json_object *vol_unmount(struct json_object *req,
				       struct json_object *rep)
{
	const char *name = jstr(req, "Name"), *id = jstr(req, "ID");
	struct json_object *vol = name ? jget(V.vols, name) : NULL;
	struct json_object *refs, *rec;
	char err[PLUGIN_ERR_MAX];
	size_t at;

	if (!vol)
		return reply_err(rep, "no such volume: %s", name ? name : "");
	refs = jget(vol, "refs");
	if (refs_has(refs, id ? id : "", &at))
		json_object_array_del_idx(refs, at, 1);
	rec = jget(vol, "mount");
	if (json_object_array_length(refs) > 0 || !rec) {
		save();
		return reply_err(rep, "%s", "");
	}
	if (mount_present(rec) &&
	    do_unmount(mountpoint_of(vol), false, err, sizeof(err)) < 0) {
		save();
		return reply_err(rep, "%s", err);
	}
	json_object_object_add(vol, "mount", NULL);
	save();
	return reply_err(rep, "%s", "");
}

static struct json_object *vol_remove(struct json_object *req,
				      struct json_object *rep)
{
	const char *name = jstr(req, "Name");
	struct json_object *vol = name ? jget(V.vols, name) : NULL;
	struct json_object *rec;
	char err[PLUGIN_ERR_MAX], mnt[PATH_MAX];
	size_t n;

	if (!vol)
		return reply_err(rep, "no such volume: %s", name ? name : "");
	n = json_object_array_length(jget(vol, "refs"));
	rec = jget(vol, "mount");
	if (n > 0 && rec && mount_present(rec))
		return reply_err(rep,
				 "volume %s is in use by %zu "
				 "container(s)",
				 name, n);
	snprintf(mnt, sizeof(mnt), "%s",
		 jstr(vol, "dir") ? jstr(vol, "dir") : "");
	if (rec && mount_present(rec) &&
	    do_unmount(mnt, false, err, sizeof(err)) < 0)
		return reply_err(rep, "%s", err);
	if (mnt[0] && rmdir(mnt) < 0 && errno != ENOENT)
		warn("rmdir %s: %s", mnt, strerror(errno));
	/* only our empty mount point goes, never the data */
	json_object_object_del(V.vols, name);
	save();
	return reply_err(rep, "%s", "");
}

static struct json_object *vol_info(const char *name, struct json_object *vol,
				    bool status)
{
	struct json_object *v = json_object_new_object();
	struct json_object *rec = jget(vol, "mount");

	json_object_object_add(v, "Name", json_object_new_string(name));
	json_object_object_add(v, "Mountpoint",
			       json_object_new_string(mountpoint_of(vol)));
	if (status) {
		struct json_object *s = json_object_new_object();
		const char *src = jstr(jget(vol, "opts"), "source");

		json_object_object_add(s, "source",
				       json_object_new_string(src ? src : ""));
		json_object_object_add(s, "mounted",
				       json_object_new_boolean(rec != NULL));
		json_object_object_add(
			s, "refs",
			json_object_new_int((int)json_object_array_length(
				jget(vol, "refs"))));
		if (rec) {
			json_object_object_add(s, "backend",
					       json_object_new_string(state_str(
						       rec, "backend")));
			json_object_object_add(s, "uid_map",
					       json_object_new_string(state_str(
						       rec, "uid_map_spec")));
			json_object_object_add(s, "gid_map",
					       json_object_new_string(state_str(
						       rec, "gid_map_spec")));
		}
		json_object_object_add(v, "Status", s);
	}
	return v;
}

struct json_object *vol_request(const char *path, struct json_object *req)
{
	struct json_object *rep = json_object_new_object();
	const char *name = jstr(req, "Name");
	struct json_object *vol = name ? jget(V.vols, name) : NULL;

	if (!strcmp(path, "/Plugin.Activate")) {
		struct json_object *a = json_object_new_array();

		json_object_array_add(a,
				      json_object_new_string("VolumeDriver"));
		json_object_object_add(rep, "Implements", a);
		return rep;
	}
	if (!strcmp(path, "/VolumeDriver.Capabilities")) {
		struct json_object *c = json_object_new_object();

		json_object_object_add(c, "Scope",
				       json_object_new_string("local"));
		json_object_object_add(rep, "Capabilities", c);
		return rep;
	}
	if (!strcmp(path, "/VolumeDriver.Create"))
		return vol_create(req, rep);
	if (!strcmp(path, "/VolumeDriver.Remove"))
		return vol_remove(req, rep);
	if (!strcmp(path, "/VolumeDriver.Mount"))
		return vol_mount(req, rep);
	if (!strcmp(path, "/VolumeDriver.Unmount"))
		return vol_unmount(req, rep);
	if (!strcmp(path, "/VolumeDriver.Path")) {
		if (!vol)
			return reply_err(rep, "no such volume: %s",
					 name ? name : "");
		json_object_object_add(
			rep, "Mountpoint",
			json_object_new_string(mountpoint_of(vol)));
		return reply_err(rep, "%s", "");
	}
	if (!strcmp(path, "/VolumeDriver.Get")) {
		if (!vol)
			return reply_err(rep, "no such volume: %s",
					 name ? name : "");
		json_object_object_add(rep, "Volume",
				       vol_info(name, vol, true));
		return reply_err(rep, "%s", "");
	}
	if (!strcmp(path, "/VolumeDriver.List")) {
		struct json_object *a = json_object_new_array();

		json_object_object_foreach(V.vols, n, v)
			json_object_array_add(a, vol_info(n, v, false));
		json_object_object_add(rep, "Volumes", a);
		return reply_err(rep, "%s", "");
	}
	return reply_err(rep, "unknown request %s", path);
}
