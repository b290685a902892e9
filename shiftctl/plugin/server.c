/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The plugin's HTTP side: libmicrohttpd on a unix socket we bind
 * ourselves (MHD_OPTION_LISTEN_SOCKET) or systemd hands us (LISTEN_FDS),
 * one internal thread serving one request at a time, every POST body
 * parsed with json-c and answered by vol_request(). Whoever can connect
 * can mount: the socket is 0600 (0660 with a group) and owned by the
 * plugin's user, in a directory only it can enter when we create it.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <microhttpd.h>
#include <pthread.h>

#include "cleanup.h"
#include "plugin_int.h"
#include "shiftctl.h"

#define BODY_MAX (1 << 20)

int plugin_default_socket(char *buf, size_t len)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n;

	if (geteuid() == 0)
		n = snprintf(buf, len, "/run/docker/plugins/shiftfs.sock");
	else if (xdg && xdg[0] == '/')
		n = snprintf(buf, len, "%s/shiftfs/shiftfs.sock", xdg);
	else
		return -ENOENT;
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int plugin_default_state_dir(char *buf, size_t len)
{
	const char *d = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
	int n;

	if (geteuid() == 0)
		n = snprintf(buf, len, "/var/lib/shiftfs/plugin");
	else if (d && d[0] == '/')
		n = snprintf(buf, len, "%s/shiftfs/plugin", d);
	else if (home && home[0] == '/')
		n = snprintf(buf, len, "%s/.local/share/shiftfs/plugin", home);
	else
		return -ENOENT;
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* One connection's request body, as it arrives. */
struct body {
	char *buf;
	size_t len;
	bool too_big;
};

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct body *b = *con_cls;

	(void)cls, (void)c, (void)toe;
	if (b) {
		free(b->buf);
		free(b);
	}
	*con_cls = NULL;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int code,
			     struct json_object *obj)
{
	const char *text = json_object_to_json_string_ext(
		obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	struct MHD_Response *resp;
	enum MHD_Result r;

	resp = MHD_create_response_from_buffer(strlen(text), (void *)text,
					       MHD_RESPMEM_MUST_COPY);
	json_object_put(obj);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type",
				"application/vnd.docker.plugins.v1+json");
	r = MHD_queue_response(c, code, resp);
	MHD_destroy_response(resp);
	return r;
}

static struct json_object *error_obj(const char *msg)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "Err", json_object_new_string(msg));
	return o;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c,
			      const char *url, const char *method,
			      const char *version, const char *upload,
			      size_t *upload_size, void **con_cls)
{
	struct body *b = *con_cls;
	struct json_object *req = NULL, *rep;
	bool failed;

	(void)cls, (void)version;
	if (!b) {
		b = calloc(1, sizeof(*b));
		if (!b)
			return MHD_NO;
		*con_cls = b;
		return MHD_YES;
	}
	if (*upload_size) {
		if (b->len + *upload_size > BODY_MAX)
			b->too_big = true;
		if (!b->too_big) {
			char *n = realloc(b->buf, b->len + *upload_size + 1);

			if (!n)
				return MHD_NO;
			b->buf = n;
			memcpy(b->buf + b->len, upload, *upload_size);
			b->len += *upload_size;
			b->buf[b->len] = '\0';
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (strcmp(method, "POST"))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED,
			     error_obj("the plugin protocol is POST only"));
	if (b->too_big)
		return reply(c, MHD_HTTP_CONTENT_TOO_LARGE,
			     error_obj("request body too large"));
	if (b->len) {
		enum json_tokener_error jerr;

		req = json_tokener_parse_verbose(b->buf, &jerr);
		if (!req || !json_object_is_type(req, json_type_object)) {
			char msg[256];

			json_object_put(req);
			snprintf(msg, sizeof(msg), "bad JSON in request: %s",
				 req ? "not an object"
				     : json_tokener_error_desc(jerr));
			return reply(c, MHD_HTTP_BAD_REQUEST, error_obj(msg));
		}
	}
	rep = vol_request(url, req);
	{
		struct json_object *e;
		const char *es = "";

		if (json_object_object_get_ex(rep, "Err", &e))
			es = json_object_get_string(e);
		fprintf(stderr, "%s plugin: %s %s%s%s\n", program_name, url,
			req ? json_object_to_json_string_ext(
				      req,
				      JSON_C_TO_STRING_PLAIN |
					      JSON_C_TO_STRING_NOSLASHESCAPE)
			    : "{}",
			*es ? " -> Err: " : "", es);
		failed = *es != '\0';
	}
	json_object_put(req);
	/* podman reads Err only from a status other than 200 */
	return reply(c, failed ? MHD_HTTP_INTERNAL_SERVER_ERROR : MHD_HTTP_OK,
		     rep);
}

/* systemd socket activation: fd 3 when LISTEN_PID is us, else -1. */
static int activated_socket(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");

	if (!pid || !fds || atol(pid) != (long)getpid() || atoi(fds) < 1)
		return -1;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	fcntl(3, F_SETFD, FD_CLOEXEC);
	return 3;
}

/* Another plugin answers on path. */
static bool in_use(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	return fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
}

static int bind_socket(const struct plugin_opts *o, const char *path, char *why,
		       size_t len)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	_cleanup_free_ char *d = strdup(path);
	mode_t mode = o->group == (gid_t)-1 ? 0600 : 0660;
	struct stat st;
	mode_t old;
	int fd, r;

	if (!d)
		return -ENOMEM;
	if (strlen(path) >= sizeof(a.sun_path)) {
		snprintf(why, len, "--socket=%s: path too long for a socket",
			 path);
		return -ENAMETOOLONG;
	}
	if (mkdir(dirname(d), 0700) < 0 && errno != EEXIST) {
		r = -errno;
		snprintf(why, len, "mkdir %s: %s", d, strerror(errno));
		return r;
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(why, len, "%s exists and is not a socket",
				 path);
			return -EEXIST;
		}
		if (in_use(path)) {
			snprintf(why, len,
				 "%s: another plugin is serving there", path);
			return -EADDRINUSE;
		}
		unlink(path);
	}
	strcpy(a.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* made with its final mode: nobody can connect in between */
	old = umask(0777 & ~mode);
	r = bind(fd, (struct sockaddr *)&a, sizeof(a));
	umask(old);
	if (r == 0 && o->group != (gid_t)-1 && chown(path, (uid_t)-1, o->group))
		r = -1;
	if (r == 0)
		r = listen(fd, 16);
	if (r < 0) {
		r = -errno;
		snprintf(why, len, "%s: %s", path, strerror(errno));
		close(fd);
		return r;
	}
	return fd;
}

const char *plugin_propagation_problem(const char *dir)
{
	static char why[PATH_MAX * 2 + 256];
	char best[PATH_MAX] = "", line[PATH_MAX * 3];
	bool shared = false;
	size_t blen = 0;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		char mp[PATH_MAX], *opt;
		size_t n;

		if (sscanf(line, "%*d %*d %*s %*s %4095s", mp) != 1)
			continue;
		n = strlen(mp);
		if (strcmp(mp, "/") &&
		    (strncmp(dir, mp, n) || (dir[n] && dir[n] != '/')))
			continue;
		if (!strcmp(mp, "/"))
			n = 1;
		if (n < blen)
			continue;
		blen = n;
		snprintf(best, sizeof(best), "%s", mp);
		/* optional fields between the options and " - " */
		opt = strstr(line, " - ");
		if (opt)
			*opt = '\0';
		shared = strstr(line, " shared:") != NULL;
	}
	fclose(f);
	if (shared || !best[0])
		return NULL;
	snprintf(why, sizeof(why),
		 "%s is on mount %s, which is not shared: mounts made there "
		 "will not reach rootlesskit's or podman's mount namespaces, "
		 "and containers of rootless engines will see an empty "
		 "volume (as root: mount --make-rshared %s)",
		 dir, best, best);
	return why;
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int plugin_serve(const struct plugin_opts *o, char *why, size_t len)
{
	char path[PATH_MAX], base[PATH_MAX];
	struct MHD_Daemon *d;
	struct sigaction sa;
	const char *xdg = getenv("XDG_RUNTIME_DIR"), *prob;
	sigset_t set, old;
	int fd, r;

	if (o->socket)
		snprintf(path, sizeof(path), "%s", o->socket);
	else if (plugin_default_socket(path, sizeof(path)) < 0) {
		snprintf(why, len,
			 "no socket path: set XDG_RUNTIME_DIR or "
			 "give --socket");
		return -ENOENT;
	}
	if (geteuid() == 0)
		snprintf(base, sizeof(base), "/run/shiftfs");
	else if (xdg && xdg[0] == '/')
		snprintf(base, sizeof(base), "%s/shiftfs", xdg);
	else {
		snprintf(why, len,
			 "XDG_RUNTIME_DIR is not set: the volumes' "
			 "mount points live under it");
		return -ENOENT;
	}
	r = vol_init(o, why, len);
	if (r < 0)
		return r;
	prob = plugin_propagation_problem(base);
	if (prob)
		warn("%s", prob);
	fd = activated_socket();
	if (fd < 0)
		fd = bind_socket(o, path, why, len);
	if (fd < 0)
		return fd;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* the server thread runs with both blocked: they come here */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	d = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL,
		NULL, handle, NULL, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
		MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)120,
		MHD_OPTION_END);
	if (!d) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		snprintf(why, len, "cannot serve on %s (libmicrohttpd)", path);
		close(fd);
		return -EIO;
	}
	fprintf(stderr, "%s plugin: serving the volume plugin protocol on %s\n",
		program_name, path);
	/* signals stay blocked but while we wait: none is lost */
	sigdelset(&old, SIGTERM);
	sigdelset(&old, SIGINT);
	while (!stop)
		sigsuspend(&old);
	MHD_stop_daemon(d);
	close(fd);
	if (fd != 3)
		unlink(path);
	vol_fini();
	return 0;
}
