/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shiftctl plugin install / uninstall: the files the engines find the
 * plugin by, and a systemd unit (socket-activated) that runs it.
 *
 *   root:   /etc/systemd/system/shiftfs-plugin.{socket,service}, the
 *           socket at /run/docker/plugins/shiftfs.sock where rootful
 *           docker looks, /etc/containers/containers.conf.d/
 *           shiftfs-plugin.conf for podman ([engine.volume_plugins]).
 *   --user: ~/.config/systemd/user/shiftfs-plugin.{socket,service}, the
 *           socket at $XDG_RUNTIME_DIR/shiftfs/shiftfs.sock, a spec file
 *           ~/.local/lib/docker/plugins/shiftfs.spec for rootless docker
 *           (its own /run is private to rootlesskit; of its two spec
 *           directories this is the one every release since 23.0 reads:
 *           some take /etc/docker/plugins for $XDG_CONFIG_HOME's; 20.10
 *           reads only /etc/docker/plugins and /usr/lib/docker/plugins,
 *           which the verb tells the user), and
 *           ~/.config/containers/containers.conf.d/shiftfs-plugin.conf.
 *
 * What was written is recorded (install.json in the state directory);
 * uninstall removes exactly those files, and only while they still hold
 * what install wrote. A file that exists with other content is left
 * alone: install refuses rather than overwrite it.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cleanup.h"
#include "fdpath.h"
#include "plugin.h"

#define CONTENT_MAX 4096

/* snprintf whose truncation is the caller's to judge (paths here are
 * bounded by PATH_MAX; a longer one fails at open). */
static void pfmt(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void pfmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

struct file_plan {
	char path[PATH_MAX];
	const char *what;
	char content[CONTENT_MAX];
};

/* The whole (small) file, or NULL. */
static char *read_small(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	char *buf;
	ssize_t n;

	if (fd < 0)
		return NULL;
	buf = malloc(CONTENT_MAX + 1);
	if (!buf)
		return NULL;
	n = read(fd, buf, CONTENT_MAX);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

static const char *env_dir(const char *var, const char *home, const char *rel,
			   char *buf, size_t len)
{
	const char *v = getenv(var);

	if (v && v[0] == '/')
		pfmt(buf, len, "%s", v);
	else
		pfmt(buf, len, "%s/%s", home, rel);
	return buf;
}

/* Which files, with what in them. */
static int plan(const struct plugin_install *o, struct file_plan *p, int *n,
		char *record, size_t rlen, char *why, size_t len)
{
	const char *home = getenv("HOME");
	char cfg[PATH_MAX], data[PATH_MAX], sock[PATH_MAX], unit[PATH_MAX];
	const char *sys = o->user ? "user" : "system";
	const char *root = o->root ? o->root : "";
	int r;

	*n = 0;
	if (o->user && (!home || home[0] != '/')) {
		pfmt(why, len, "--user: HOME is not set");
		return -ENOENT;
	}
	if (o->user) {
		env_dir("XDG_CONFIG_HOME", home, ".config", cfg, sizeof(cfg));
		pfmt(unit, sizeof(unit), "%s%s/systemd/user", root, cfg);
		/* serve's default (the unit's %t is $XDG_RUNTIME_DIR too) */
		if (plugin_default_socket(sock, sizeof(sock)) < 0)
			pfmt(sock, sizeof(sock),
			     "/run/user/%u/shiftfs/shiftfs.sock",
			     (unsigned)getuid());
	} else {
		pfmt(cfg, sizeof(cfg), "/etc");
		pfmt(unit, sizeof(unit), "%s/etc/systemd/system", root);
		pfmt(sock, sizeof(sock), "/run/docker/plugins/shiftfs.sock");
	}
	r = plugin_default_state_dir(data, sizeof(data));
	if (r < 0) {
		pfmt(why, len, "no state directory (HOME)");
		return r;
	}
	pfmt(record, rlen, "%s%s/install%s.json", root, data,
	     o->user ? "-user" : "");

	pfmt(p[*n].path, PATH_MAX, "%s/shiftfs-plugin.socket", unit);
	p[*n].what =
		o->user ? "systemd user socket unit" : "systemd socket unit";
	pfmt(p[*n].content, CONTENT_MAX,
	     "# Written by shiftctl plugin install; removed by shiftctl "
	     "plugin uninstall.\n"
	     "[Unit]\nDescription=shiftfs volume plugin socket "
	     "(docker/podman)\n\n"
	     "[Socket]\nListenStream=%s\nSocketMode=0600\n"
	     "DirectoryMode=0700\n\n[Install]\nWantedBy=sockets.target\n",
	     o->user ? "%t/shiftfs/shiftfs.sock" : sock);
	(*n)++;
	pfmt(p[*n].path, PATH_MAX, "%s/shiftfs-plugin.service", unit);
	p[*n].what = o->user ? "systemd user service" : "systemd service";
	pfmt(p[*n].content, CONTENT_MAX,
	     "# Written by shiftctl plugin install; removed by shiftctl "
	     "plugin uninstall.\n"
	     "[Unit]\nDescription=shiftfs volume plugin (docker/podman)\n"
	     "Documentation=man:shiftctl-plugin(1)\n"
	     "Requires=shiftfs-plugin.socket\n"
	     "After=shiftfs-plugin.socket\n\n"
	     "[Service]\nExecStart=%s plugin serve%s%s\n"
	     "KillMode=process\n"
	     "Restart=on-failure\n\n[Install]\nWantedBy=%s.target\n",
	     o->exe, o->serve_args[0] ? " " : "", o->serve_args,
	     o->user ? "default" : "multi-user");
	(*n)++;
	(void)sys;
	if (o->user) {
		pfmt(p[*n].path, PATH_MAX,
		     "%s%s/.local/lib/docker/plugins/shiftfs.spec", root, home);
		p[*n].what = "rootless docker's plugin spec";
		pfmt(p[*n].content, CONTENT_MAX, "unix://%s\n", sock);
		(*n)++;
	}
	pfmt(p[*n].path, PATH_MAX,
	     "%s%s/containers/containers.conf.d/shiftfs-plugin.conf", root,
	     cfg);
	p[*n].what = "podman's volume plugin";
	pfmt(p[*n].content, CONTENT_MAX,
	     "# Written by shiftctl plugin install; removed by shiftctl "
	     "plugin uninstall.\n"
	     "[engine.volume_plugins]\nshiftfs = \"%s\"\n",
	     sock);
	(*n)++;
	return 0;
}

static int write_file(const char *path, const char *content)
{
	_cleanup_free_ char *d = strdup(path);
	char tmp[PATH_MAX + 8];
	_cleanup_close_ int fd = -1;
	size_t len = strlen(content);
	int r;

	if (!d)
		return -ENOMEM;
	r = fdpath_mkdir_p(dirname(d), 0755);
	if (r < 0)
		return r;
	pfmt(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		  0644);
	if (fd < 0)
		return -errno;
	if (write(fd, content, len) != (ssize_t)len || fsync(fd) < 0 ||
	    rename(tmp, path) < 0) {
		r = errno ? -errno : -EIO;
		unlink(tmp);
		return r;
	}
	return 0;
}

static void add(struct plugin_files *f, const char *path, const char *what,
		bool created)
{
	if (f->n == PLUGIN_FILES_MAX)
		return;
	pfmt(f->path[f->n], PATH_MAX, "%s", path);
	pfmt(f->what[f->n], sizeof(f->what[0]), "%s", what);
	f->created[f->n++] = created;
}

int plugin_install(const struct plugin_install *o, struct plugin_files *f,
		   char *why, size_t len)
{
	static struct file_plan p[PLUGIN_FILES_MAX];
	struct json_object *rec, *list;
	char record[PATH_MAX];
	int i, n, r;

	f->n = 0;
	r = plan(o, p, &n, record, sizeof(record), why, len);
	if (r < 0)
		return r;
	/* refuse first, write after: nothing half done by a refusal */
	for (i = 0; i < n; i++) {
		_cleanup_free_ char *old = read_small(p[i].path);

		if (old && strcmp(old, p[i].content)) {
			pfmt(why, len,
			     "%s exists with other content: not "
			     "overwriting it (move it away, or "
			     "uninstall first)",
			     p[i].path);
			return -EEXIST;
		}
	}
	rec = json_object_new_object();
	list = json_object_new_array();
	json_object_object_add(rec, "files", list);
	for (i = 0; i < n; i++) {
		_cleanup_free_ char *old = read_small(p[i].path);
		struct json_object *e = json_object_new_object();

		r = old ? 0 : write_file(p[i].path, p[i].content);
		if (r < 0) {
			pfmt(why, len, "%s: %s", p[i].path, strerror(-r));
			break;
		}
		add(f, p[i].path, p[i].what, !old);
		json_object_object_add(e, "path",
				       json_object_new_string(p[i].path));
		json_object_object_add(e, "content",
				       json_object_new_string(p[i].content));
		json_object_array_add(list, e);
	}
	/* what is written is recorded, even after a failure */
	{
		_cleanup_free_ char *d = strdup(record);
		char tmp[PATH_MAX + 8];

		pfmt(tmp, sizeof(tmp), "%s.tmp", record);
		if (d && fdpath_mkdir_p(dirname(d), 0755) == 0 &&
		    json_object_to_file_ext(tmp, rec,
					    JSON_C_TO_STRING_PRETTY) == 0)
			rename(tmp, record);
	}
	json_object_put(rec);
	return r < 0 ? r : 0;
}

int plugin_uninstall(const struct plugin_install *o, struct plugin_files *f,
		     char *why, size_t len)
{
	static struct file_plan p[PLUGIN_FILES_MAX];
	struct json_object *rec, *list;
	char record[PATH_MAX];
	size_t i, n;
	int np, r;

	f->n = 0;
	r = plan(o, p, &np, record, sizeof(record), why, len);
	if (r < 0)
		return r;
	rec = json_object_from_file(record);
	if (!rec) {
		pfmt(why, len, "%s: nothing recorded as installed", record);
		return -ENOENT;
	}
	if (!json_object_object_get_ex(rec, "files", &list) ||
	    !json_object_is_type(list, json_type_array)) {
		json_object_put(rec);
		pfmt(why, len,
		     "%s: not a record of shiftctl plugin "
		     "install",
		     record);
		return -EINVAL;
	}
	n = json_object_array_length(list);
	for (i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(list, i);
		struct json_object *jp, *jc;
		_cleanup_free_ char *now = NULL;
		const char *path;

		if (!json_object_object_get_ex(e, "path", &jp) ||
		    !json_object_object_get_ex(e, "content", &jc))
			continue;
		path = json_object_get_string(jp);
		now = read_small(path);
		if (!now) {
			add(f, path, "already gone", false);
			continue;
		}
		if (strcmp(now, json_object_get_string(jc))) {
			add(f, path, "changed since install: kept", false);
			continue;
		}
		if (unlink(path) < 0)
			add(f, path, strerror(errno), false);
		else
			add(f, path, "as installed", true);
	}
	json_object_put(rec);
	unlink(record);
	return 0;
}
