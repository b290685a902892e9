/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shiftctl's per-mount state records: one JSON file per mount point under
 * /run/shiftfs/mounts (root) or $XDG_RUNTIME_DIR/shiftfs/mounts (or a
 * fallback: runtime_dir()), saying
 * what mountinfo cannot (the maps, the backend, the daemon pid). Readers
 * cross-check them against mountinfo (mounts.c): the kernel is the truth.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "cleanup.h"
#include "fdpath.h"
#include "mounts.h"

static char runtime_msg[PATH_MAX + 200];

const char *runtime_dir_msg(void)
{
	return runtime_msg;
}

/* A directory (not a symlink) of euid with no access for group or others. */
static bool own_private_dir(const char *path, struct stat *st)
{
	if (lstat(path, st) < 0)
		return false;
	return S_ISDIR(st->st_mode) && st->st_uid == geteuid() &&
	       !(st->st_mode & 077);
}

/* No XDG_RUNTIME_DIR: /run/user/UID if it is ours, else /tmp/shiftfs-UID. */
static int runtime_fallback(char *buf, size_t len, bool create)
{
	unsigned uid = (unsigned)geteuid();
	char dir[64];
	struct stat st;
	int n;

	snprintf(dir, sizeof(dir), "/run/user/%u", uid);
	if (own_private_dir(dir, &st)) {
		snprintf(runtime_msg, sizeof(runtime_msg),
			 "XDG_RUNTIME_DIR is not set: using %s/shiftfs", dir);
		n = snprintf(buf, len, "%s/shiftfs", dir);
		return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
	}
	snprintf(dir, sizeof(dir), "/tmp/shiftfs-%u", uid);
	if (create && mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (lstat(dir, &st) < 0) {
		if (errno == ENOENT)
			return -ENOENT;
		return -errno;
	}
	if (!own_private_dir(dir, &st)) {
		snprintf(runtime_msg, sizeof(runtime_msg),
			 "XDG_RUNTIME_DIR is not set, and %s is not a "
			 "directory of uid %u with mode 0700 (anyone can "
			 "create it first): refusing to use it; set "
			 "XDG_RUNTIME_DIR to a directory of your own",
			 dir, uid);
		return -EPERM;
	}
	snprintf(runtime_msg, sizeof(runtime_msg),
		 "XDG_RUNTIME_DIR is not set: using %s", dir);
	n = snprintf(buf, len, "%s", dir);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int runtime_dir(char *buf, size_t len, bool create)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n;

	runtime_msg[0] = '\0';
	if (geteuid() == 0)
		n = snprintf(buf, len, "/run/shiftfs");
	else if (xdg && xdg[0] == '/')
		n = snprintf(buf, len, "%s/shiftfs", xdg);
	else
		return runtime_fallback(buf, len, create);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int state_dir(char *buf, size_t len, bool create)
{
	char dir[PATH_MAX];
	int n, r;

	r = runtime_dir(dir, sizeof(dir), create);
	if (r < 0)
		return r;
	n = snprintf(buf, len, "%s/mounts", dir);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return create ? fdpath_mkdir_p(buf, 0700) : 0;
}

/* "/srv/a b" -> "srv%2Fa%20b": reversible, one file name per mount point. */
static int escape_name(const char *mnt, char *out, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)mnt;
	size_t o = 0;

	if (*p == '/')
		p++;
	for (; *p; p++) {
		if (o + 4 >= len)
			return -ENAMETOOLONG;
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
		    (*p == '.' && o > 0)) {
			out[o++] = (char)*p;
		} else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	if (o == 0)
		out[o++] = '%', out[o++] = '2', out[o++] = 'F';
	out[o] = '\0';
	return 0;
}

int state_path(const char *mnt, char *buf, size_t len, bool create)
{
	char dir[PATH_MAX], name[NAME_MAX - 8];
	int r;

	r = state_dir(dir, sizeof(dir), create);
	if (r < 0)
		return r;
	r = escape_name(mnt, name, sizeof(name));
	if (r < 0)
		return r;
	if ((size_t)snprintf(buf, len, "%s/%s.json", dir, name) >= len)
		return -ENAMETOOLONG;
	return 0;
}

int state_write(const char *mnt, struct json_object *obj)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	const char *text;
	_cleanup_close_ int fd = -1;
	size_t len;
	int r;

	r = state_path(mnt, path, sizeof(path), true);
	if (r < 0)
		return r;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	text = json_object_to_json_string_ext(
		obj, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	len = strlen(text);
	if (write(fd, text, len) != (ssize_t)len || write(fd, "\n", 1) != 1 ||
	    fsync(fd) < 0) {
		r = errno ? -errno : -EIO;
		unlink(tmp);
		return r;
	}
	if (rename(tmp, path) < 0) {
		r = -errno;
		unlink(tmp);
		return r;
	}
	return 0;
}

static int read_file(const char *path, struct json_object **obj)
{
	*obj = json_object_from_file(path);
	if (!*obj)
		return access(path, R_OK) < 0 ? -errno : -EINVAL;
	if (!json_object_is_type(*obj, json_type_object)) {
		json_object_put(*obj);
		*obj = NULL;
		return -EINVAL;
	}
	return 0;
}

int state_read(const char *mnt, struct json_object **obj)
{
	char path[PATH_MAX];
	int r = state_path(mnt, path, sizeof(path), false);

	*obj = NULL;
	if (r < 0)
		return r;
	return read_file(path, obj);
}

int state_remove(const char *mnt)
{
	char path[PATH_MAX];
	int r = state_path(mnt, path, sizeof(path), false);

	if (r < 0)
		return r == -ENOENT ? 0 : r;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	/* The FUSE daemon's log and request counts live beside it. */
	strcpy(path + strlen(path) - strlen(".json"), ".log");
	unlink(path);
	strcpy(path + strlen(path) - strlen(".log"), ".stats");
	unlink(path);
	return 0;
}

int mount_stats_path(const char *mnt, char *buf, size_t len, bool create)
{
	int r = state_path(mnt, buf, len, create);

	if (r < 0)
		return r;
	if (strlen(buf) + 2 > len)
		return -ENAMETOOLONG;
	strcpy(buf + strlen(buf) - strlen(".json"), ".stats");
	return 0;
}

int state_foreach(state_visit_fn fn, void *ctx)
{
	char dir[PATH_MAX], path[PATH_MAX + NAME_MAX + 2];
	struct json_object *obj;
	struct dirent *de;
	DIR *d;
	int r;

	r = state_dir(dir, sizeof(dir), false);
	if (r < 0)
		return r == -ENOENT ? 0 : r;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	r = 0;
	while (!r && (de = readdir(d))) {
		size_t n = strlen(de->d_name);

		if (n < 6 || strcmp(de->d_name + n - 5, ".json"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (read_file(path, &obj) < 0)
			continue;
		r = fn(path, obj, ctx);
		json_object_put(obj);
	}
	closedir(d);
	return r;
}

const char *state_str(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return "";
	return json_object_get_string(v);
}

long long state_int(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return -1;
	return (long long)json_object_get_int64(v);
}

bool state_mount_exists(struct json_object *obj)
{
	struct mnt_entry *e = malloc(sizeof(*e));
	long long id = state_int(obj, "mount_id");
	bool ok;

	if (!e)
		return true; /* keep the record */
	ok = id >= 0 && mnt_by_id((int)id, e) == 0;
	free(e);
	return ok;
}

/* A FUSE connection whose daemon went away (ECONNABORTED: one aborted,
 * and requests that were in flight when it died). */
static bool disconnected(int err)
{
	return err == ENOTCONN || err == ECONNABORTED;
}

bool fuse_mount_dead(const char *mnt, struct json_object *rec, char *why,
		     size_t len)
{
	long long pid = rec ? state_int(rec, "pid") : -1;
	long long start = rec ? state_int(rec, "pid_start") : -1;
	struct statfs sfs;

	if (pid > 0) {
		if (!daemon_gone((pid_t)pid, start))
			return false;
		/* statfs always asks the daemon (stat may be cached). */
		if (statfs(mnt, &sfs) < 0 && disconnected(errno))
			snprintf(why, len,
				 "its shiftfs daemon (pid %lld) is gone: %s",
				 pid, strerror(errno));
		else
			snprintf(why, len,
				 "its shiftfs daemon (pid %lld) is gone", pid);
		return true;
	}
	if (rec || statfs(mnt, &sfs) == 0 || !disconnected(errno))
		return false;
	snprintf(why, len, "its FUSE daemon is gone: %s", strerror(errno));
	return true;
}
