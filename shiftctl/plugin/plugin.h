/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The volume plugin engine behind shiftctl plugin, its whole interface: a
 * server of the Docker volume plugin protocol (docker and podman speak it)
 * on a unix socket, whose volumes are shifted mounts made by the mount
 * engine (mount.h) on the first Mount and undone on the last Unmount, and
 * the files that tell the engines where the socket is (install, uninstall).
 *
 * plugin_serve() runs until SIGTERM or SIGINT. Requests are served one at
 * a time; a mount is made in a child process, so that the mount engine's
 * refusals (which end their process) become the request's error.
 */
#ifndef SHIFTCTL_PLUGIN_H
#define SHIFTCTL_PLUGIN_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

/* A MAP SOURCE option of serve's command line (mapsrc_option()). */
struct plugin_mapopt {
	int opt;
	const char *arg;
};

#define PLUGIN_MAPOPTS_MAX 8

struct plugin_opts {
	const char *socket;    /* NULL: plugin_default_socket() */
	const char *state_dir; /* NULL: plugin_default_state_dir() */
	const char *engine;    /* image=: "docker", "podman", NULL: auto */
	gid_t group;	       /* socket's group (0660), or (gid_t)-1: 0600 */
	/* The engine's own layout, for volumes that name none. */
	struct plugin_mapopt map[PLUGIN_MAPOPTS_MAX];
	int nmap;
};

/* /run/docker/plugins/shiftfs.sock as root, else
 * $XDG_RUNTIME_DIR/shiftfs/shiftfs.sock (-ENOENT without it). */
int plugin_default_socket(char *buf, size_t len);
/* /var/lib/shiftfs/plugin as root, else $XDG_DATA_HOME/shiftfs/plugin
 * ($HOME/.local/share/shiftfs/plugin). */
int plugin_default_state_dir(char *buf, size_t len);

/*
 * Serve until SIGTERM/SIGINT. A socket handed over by systemd
 * (LISTEN_FDS) is used as it is; else o->socket is made (0600, or 0660
 * with o->group), its directory 0700 when created. Returns 0, or -errno
 * with why (a line for the verb to print) filled.
 */
int plugin_serve(const struct plugin_opts *o, char *why, size_t len);

/*
 * The mount propagation check: NULL when the mount points' parent is on
 * a shared mount (mounts made later reach rootlesskit's and podman's
 * namespaces), else what is wrong and the command that fixes it.
 */
const char *plugin_propagation_problem(const char *dir);

/* install / uninstall: the files engines read, and a systemd unit. */
struct plugin_install {
	bool user;		/* --user: the invoking user's files */
	const char *exe;	/* the shiftctl to run */
	const char *serve_args; /* extra serve options for the unit, or "" */
	const char *root;	/* prefix for every path (tests), or "" */
};

#define PLUGIN_FILES_MAX 8
struct plugin_files {
	int n;
	char path[PLUGIN_FILES_MAX][PATH_MAX];
	char what[PLUGIN_FILES_MAX][128];
	bool created[PLUGIN_FILES_MAX]; /* false: left as it was */
};

/* Write the files (recorded in the state directory) into *f. 0 or
 * -errno, why filled. */
int plugin_install(const struct plugin_install *o, struct plugin_files *f,
		   char *why, size_t len);
/* Remove exactly what install recorded, into *f. 0 or -errno. */
int plugin_uninstall(const struct plugin_install *o, struct plugin_files *f,
		     char *why, size_t len);

#endif
