/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Which container engine the volume is for, rootless or rootful, and so
 * which layout its containers get: --engine, DOCKER_HOST, podman info, the
 * rootless docker socket, docker's daemon.json userns-remap, and the flags
 * and map source given, which say more than the environment.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "doctor_int.h"
#include "parse_int.h"

static const char *pick_engine(struct doctor *dr)
{
	if (dr->engine_opt)
		return dr->engine_opt;
	if (getenv("DOCKER_HOST"))
		return "docker";
	if (in_path("podman"))
		return "podman";
	if (in_path("docker"))
		return "docker";
	return NULL;
}

/* userns-remap from daemon.json, if set. */
static void read_docker_config(struct doctor *dr)
{
	const char *file = dr->docker_config ? dr->docker_config
					     : "/etc/docker/daemon.json";
	struct json_object *root, *v;

	if (access(file, R_OK) != 0) {
		if (dr->docker_config)
			die(EXIT_FAIL, "--docker-config=%s: %s", file,
			    strerror(errno));
		return;
	}
	root = json_object_from_file(file);
	if (!root) {
		warn("%s: not valid JSON (%s); ignoring it", file,
		     json_util_get_last_err());
		return;
	}
	if (json_object_object_get_ex(root, "userns-remap", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    *json_object_get_string(v))
		bfmt(dr->remap_user, sizeof(dr->remap_user), "%s",
		     json_object_get_string(v));
	json_object_put(root);
}

/* DOCKER_HOST names docker; a socket under /run/user/UID is rootless. */
static void from_docker_host(struct doctor *dr, const char *host,
			     const char *xdg)
{
	const char *ru = strstr(host, "/run/user/");

	dr->engine = "docker";
	dr->rootless = ru || (xdg && *xdg && strstr(host, xdg));
	bfmt(dr->engine_why, sizeof(dr->engine_why), "DOCKER_HOST=%s", host);
	if (ru) {
		uint32_t uid;
		size_t n = strspn(ru + 10, "0123456789");

		if (n && parse_u32_n(ru + 10, n, 0, UINT32_MAX - 1, &uid) == 0)
			bfmt(dr->auto_user, sizeof(dr->auto_user), "%u", uid);
	}
}

/* podman given with --engine: ask it whether it runs rootless. */
static void from_podman_info(struct doctor *dr)
{
	char *argv[] = {(char *)"podman", (char *)"info", (char *)"--format",
			(char *)"{{.Host.Security.Rootless}}", NULL};
	char out[64] = "";

	if (run_capture(argv, out, sizeof(out)) == 0 &&
	    (!strcmp(out, "true") || !strcmp(out, "false"))) {
		dr->rootless = !strcmp(out, "true");
		bfmt(dr->engine_why, sizeof(dr->engine_why),
		     "podman info: rootless=%s", out);
	} else {
		dr->rootless = getuid() != 0;
		bfmt(dr->engine_why, sizeof(dr->engine_why),
		     "running as uid %u (podman info failed)",
		     (unsigned)getuid());
	}
}

/* Rootless or rootful, and why, from the environment. */
static void detect_rootless(struct doctor *dr, enum layout_kind given)
{
	const char *host = getenv("DOCKER_HOST");
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	char buf[PATH_MAX];

	if (host && (!dr->engine_opt || !strcmp(dr->engine_opt, "docker"))) {
		from_docker_host(dr, host, xdg);
	} else if (dr->engine && !strcmp(dr->engine, "podman") &&
		   dr->engine_opt && !dr->rootful && given == LAYOUT_NONE &&
		   in_path("podman")) {
		from_podman_info(dr);
	} else if (xdg && *xdg &&
		   (!dr->engine_opt || !strcmp(dr->engine_opt, "docker")) &&
		   (bfmt(buf, sizeof(buf), "%s/docker.sock", xdg),
		    access(buf, F_OK) == 0)) {
		dr->engine = "docker";
		dr->rootless = true;
		bfmt(dr->engine_why, sizeof(dr->engine_why), "%s exists", buf);
	} else {
		dr->rootless = getuid() != 0;
		bfmt(dr->engine_why, sizeof(dr->engine_why),
		     "running as uid %u", (unsigned)getuid());
	}
}

/* Choose the layout the engine will use. */
static void choose_layout(struct doctor *dr)
{
	if (dr->rootless) {
		dr->ms.req.kind = LAYOUT_ROOTLESS;
		if (dr->auto_user[0])
			dr->ms.req.user = dr->auto_user;
	} else if (dr->remap_user[0] &&
		   (!dr->engine || !strcmp(dr->engine, "docker"))) {
		dr->engine = "docker";
		dr->ms.req.kind = LAYOUT_USERNS_REMAP;
		dr->ms.req.user = dr->remap_user;
	} else {
		dr->ms.req.kind = LAYOUT_EXPLICIT;
		dr->ms.req.map_spec = "0:0:4294967295";
	}
}

void detect_engine(struct doctor *dr)
{
	enum layout_kind given = dr->ms.req.kind;

	dr->map_given = given;
	dr->engine = pick_engine(dr);
	if (!dr->engine || !strcmp(dr->engine, "docker"))
		read_docker_config(dr);
	detect_rootless(dr, given);
	/* Flags and map sources say more than the environment. */
	if (dr->rootful) {
		dr->rootless = false;
		bfmt(dr->engine_why, sizeof(dr->engine_why), "--rootful");
	} else if (given != LAYOUT_NONE && given != LAYOUT_EXPLICIT &&
		   given != LAYOUT_PID &&
		   dr->rootless != (given == LAYOUT_ROOTLESS)) {
		dr->rootless = given == LAYOUT_ROOTLESS;
		bfmt(dr->engine_why, sizeof(dr->engine_why),
		     "the map source given (--%s)", layout_kind_name(given));
	}

	if (given != LAYOUT_NONE)
		return;
	choose_layout(dr);
}
