/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * /proc/self/mountinfo parsing and shiftctl's per-mount state files. The
 * kernel is the truth about what is mounted; state files only add what
 * mountinfo cannot say (the maps, the backend, the daemon pid) and are
 * cross-checked against it by their readers.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/openat2.h>

#include "cleanup.h"
#include "mounts.h"

/* mountinfo escapes ' ', '\t', '\n' and '\\' as \ooo (octal). */
static void unescape(const char *in, char *out, size_t len)
{
	size_t o = 0;

	while (*in && o + 1 < len) {
		if (in[0] == '\\' && in[1] >= '0' && in[1] <= '3' &&
		    in[2] >= '0' && in[2] <= '7' && in[3] >= '0' &&
		    in[3] <= '7') {
			out[o++] = (char)((in[1] - '0') * 64 +
					  (in[2] - '0') * 8 + (in[3] - '0'));
			in += 4;
		} else {
			out[o++] = *in++;
		}
	}
	out[o] = '\0';
}

static void copy_field(const char *in, char *out, size_t len)
{
	snprintf(out, len, "%s", in);
}

/* Split one mountinfo line into e; false when the line is malformed. */
static bool parse_line(char *line, struct mnt_entry *e)
{
	char *f[32], *save = NULL, *tok;
	int n = 0, sep = -1;

	line[strcspn(line, "\n")] = '\0';
	for (tok = strtok_r(line, " ", &save); tok && n < 32;
	     tok = strtok_r(NULL, " ", &save)) {
		if (sep < 0 && n >= 6 && !strcmp(tok, "-"))
			sep = n;
		f[n++] = tok;
	}
	if (sep < 0 || n < sep + 3)
		return false;
	e->id = atoi(f[0]);
	e->parent = atoi(f[1]);
	if (sscanf(f[2], "%u:%u", &e->major, &e->minor) != 2)
		e->major = e->minor = 0;
	unescape(f[3], e->root, sizeof(e->root));
	unescape(f[4], e->target, sizeof(e->target));
	copy_field(f[5], e->opts, sizeof(e->opts));
	copy_field(f[sep + 1], e->fstype, sizeof(e->fstype));
	unescape(f[sep + 2], e->source, sizeof(e->source));
	return true;
}

int mnt_foreach(mnt_visit_fn fn, void *ctx)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	_cleanup_free_ char *line = NULL;
	struct mnt_entry *e;
	size_t cap = 0;
	int r = 0;

	if (!f)
		return -errno;
	e = malloc(sizeof(*e));
	if (!e)
		return -ENOMEM;
	while (getline(&line, &cap, f) > 0) {
		if (!parse_line(line, e))
			continue;
		r = fn(e, ctx);
		if (r)
			break;
	}
	free(e);
	return r;
}

struct find_ctx {
	const char *path;
	struct mnt_entry *out;
	bool found;
};

static int find_visit(const struct mnt_entry *e, void *ctx)
{
	struct find_ctx *c = ctx;

	/* Later lines are mounted later: the last match is on top. */
	if (!strcmp(e->target, c->path)) {
		*c->out = *e;
		c->found = true;
	}
	return 0;
}

int mnt_find(const char *path, struct mnt_entry *out)
{
	struct find_ctx c = {path, out, false};
	int r = mnt_foreach(find_visit, &c);

	if (r < 0)
		return r;
	return c.found ? 0 : -ENOENT;
}

bool mnt_opt_has(const char *opts, const char *opt)
{
	size_t n = strlen(opt);
	const char *p = opts;

	while (p && *p) {
		if (!strncmp(p, opt, n) && (p[n] == ',' || p[n] == '\0'))
			return true;
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return false;
}

bool mnt_is_idmapped(const struct mnt_entry *e)
{
	return mnt_opt_has(e->opts, "idmapped");
}

int mnt_canonical(const char *path, char *out, size_t len)
{
	_cleanup_free_ char *d1 = strdup(path), *d2 = strdup(path);
	char parent[PATH_MAX];
	const char *base;

	if (!d1 || !d2)
		return -ENOMEM;
	if (realpath(path, parent)) {
		if (strlen(parent) >= len)
			return -ENAMETOOLONG;
		strcpy(out, parent);
		return 0;
	}
	if (errno != ENOTCONN && errno != EIO)
		return -errno;
	base = basename(d2);
	if (!realpath(dirname(d1), parent))
		return -errno;
	if ((size_t)snprintf(out, len, "%s/%s",
			     strcmp(parent, "/") ? parent : "", base) >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* mkdir -p with mode 0700 for what it creates. */
static int mkdir_p(const char *path)
{
	char buf[PATH_MAX];
	char *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int state_dir(char *buf, size_t len, bool create)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n;

	if (geteuid() == 0)
		n = snprintf(buf, len, "/run/shiftfs/mounts");
	else if (xdg && xdg[0] == '/')
		n = snprintf(buf, len, "%s/shiftfs/mounts", xdg);
	else
		return -ENOENT;
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return create ? mkdir_p(buf) : 0;
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
	/* The FUSE daemon's log lives beside it. */
	strcpy(path + strlen(path) - strlen(".json"), ".log");
	unlink(path);
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

int fd_path(int fd, char *buf, size_t len)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, len);
	if (n < 0)
		return -errno;
	if ((size_t)n >= len)
		return -ENAMETOOLONG;
	buf[n] = '\0';
	return 0;
}

int open_verified(const char *real, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(O_PATH | O_CLOEXEC | flags),
		.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	char now[PATH_MAX];
	int fd, r;

	if (real[0] != '/')
		return -EINVAL;
	fd = (int)syscall(SYS_openat2, AT_FDCWD, real, &how, sizeof(how));
	if (fd < 0)
		return -errno;
	r = fd_path(fd, now, sizeof(now));
	if (r == 0 && strcmp(now, real))
		r = -ESTALE;
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x00004000U
#endif

static int fdinfo_mnt_id(int dirfd, const char *name, int *id)
{
	_cleanup_close_ int fd = -1;
	_cleanup_fclose_ FILE *f = NULL;
	char path[64], line[128];

	fd = *name ? openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC)
		   : fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "mnt_id: %d", id) == 1)
			return 0;
	return -ENOSYS;
}

int mnt_id_at(int dirfd, const char *name, int *id, unsigned long long *uniq)
{
	int flags = AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_STATX_DONT_SYNC |
		    (*name ? 0 : AT_EMPTY_PATH);
	struct statx stx;

	*uniq = 0;
	if (statx(dirfd, name, flags, STATX_MNT_ID, &stx) < 0 ||
	    !(stx.stx_mask & STATX_MNT_ID))
		/* FUSE refuses even that to others than the mount's owner
		 * (no allow_other): /proc says it without asking the fs. */
		return fdinfo_mnt_id(dirfd, name, id);
	*id = (int)stx.stx_mnt_id;
	if (statx(dirfd, name, flags, STATX_MNT_ID_UNIQUE, &stx) == 0 &&
	    (stx.stx_mask & STATX_MNT_ID_UNIQUE))
		*uniq = stx.stx_mnt_id;
	return 0;
}

struct id_ctx {
	int id;
	struct mnt_entry *out;
};

static int id_visit(const struct mnt_entry *e, void *ctx)
{
	struct id_ctx *c = ctx;

	if (e->id != c->id)
		return 0;
	*c->out = *e;
	return 1;
}

int mnt_by_id(int id, struct mnt_entry *out)
{
	struct id_ctx c = {id, out};
	int r = mnt_foreach(id_visit, &c);

	if (r < 0)
		return r;
	return r ? 0 : -ENOENT;
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

int umount_checked(const char *target, int id, int flags)
{
	char parent[PATH_MAX], via[PATH_MAX + 64];
	unsigned long long uniq;
	_cleanup_close_ int pfd = -1;
	const char *name;
	char *slash;
	int now, r;

	if (snprintf(parent, sizeof(parent), "%s", target) >=
	    (int)sizeof(parent))
		return -ENAMETOOLONG;
	slash = strrchr(parent, '/');
	if (!slash || !slash[1] || target[0] != '/')
		return -EINVAL; /* "/" itself is never ours */
	name = target + (slash - parent) + 1;
	if (slash == parent)
		slash[1] = '\0';
	else
		*slash = '\0';
	pfd = open_verified(parent, O_DIRECTORY);
	if (pfd < 0)
		return pfd == -ELOOP ? -ESTALE : pfd;
	r = mnt_id_at(pfd, name, &now, &uniq);
	if (r < 0)
		return r;
	if (now != id)
		return -ESTALE;
	snprintf(via, sizeof(via), "/proc/self/fd/%d/%s", pfd, name);
	if (umount2(via, flags | UMOUNT_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

int proc_stat(pid_t pid, char *state, unsigned long long *start)
{
	char path[64], buf[1024], *p;
	_cleanup_close_ int fd = -1;
	ssize_t n;
	int i;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return n < 0 ? -errno : -EIO;
	buf[n] = '\0';
	/* The comm may hold spaces and ')': fields start after the last. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %c", state) != 1)
		return -EINVAL;
	/* Field 22, starttime, is the 20th after the comm. */
	for (i = 0; p && i < 20; i++)
		p = strchr(p + 1, ' ');
	if (!p)
		return -EINVAL;
	*start = strtoull(p + 1, NULL, 10);
	return 0;
}
