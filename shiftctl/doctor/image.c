/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * --image: USER from the image's config, and its /etc/passwd and
 * /etc/group (podman image mount, or docker cp out of a created container
 * into a private temporary directory), read through mapsrc as --rootfs
 * reads them; cleanup_image() undoes the mount or the copy.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "doctor_int.h"

/* USER from the image config (image inspect). */
static void image_user(struct doctor *dr, const char *eng)
{
	char *argv[] = {(char *)eng,
			(char *)"image",
			(char *)"inspect",
			(char *)"--format",
			(char *)"{{.Config.User}}",
			(char *)dr->image,
			NULL};
	int r;

	r = run_capture(argv, dr->image_user, sizeof(dr->image_user));
	if (r != 0)
		die(EXIT_FAIL,
		    "%s image inspect %s failed (exit %d): "
		    "is the image pulled?",
		    eng, dr->image, r);
}

/* podman image mount: the image's root, read in place. */
static void image_mount_podman(struct doctor *dr)
{
	char out[PATH_MAX] = "";
	char *argv[] = {(char *)"podman", (char *)"image", (char *)"mount",
			(char *)dr->image, NULL};

	if (run_capture(argv, out, sizeof(out)) == 0 && out[0]) {
		bfmt(dr->image_root, sizeof(dr->image_root), "%s", out);
		dr->image_mounted = true;
	}
}

/* docker: copy /etc/passwd and /etc/group out of a created container
 * into a private temporary directory. */
static void image_copy_docker(struct doctor *dr)
{
	static char tmpdir[] = "/tmp/shiftctl-doctor-XXXXXX";
	char out[PATH_MAX] = "";
	char id[128] = "", src[256];
	/* a command, never run: an image without CMD cannot be created
	 * without one ("No command specified") */
	char *create[] = {(char *)"docker", (char *)"create", (char *)dr->image,
			  (char *)"true", NULL};

	if (!mkdtemp(tmpdir))
		die(EXIT_FAIL, "mkdtemp: %s", strerror(errno));
	bfmt(dr->image_root, sizeof(dr->image_root), "%s", tmpdir);
	dr->image_tmp = true;
	bfmt(out, sizeof(out), "%s/etc", tmpdir);
	if (mkdir(out, 0700) < 0)
		die(EXIT_FAIL, "%s: %s", out, strerror(errno));
	if (run_capture(create, id, sizeof(id)) == 0 && id[0]) {
		/* -L: a symlink is followed inside the container;
		 * whatever lands here is still read inside tmpdir. */
		char *cp[] = {(char *)"docker", (char *)"cp", src, out,
			      (char *)"-L",	NULL};
		char *rm[] = {(char *)"docker", (char *)"rm", id, NULL};

		bfmt(src, sizeof(src), "%s:/etc/passwd", id);
		bfmt(out, sizeof(out), "%s/etc/passwd", tmpdir);
		run_capture(cp, NULL, 0);
		bfmt(src, sizeof(src), "%s:/etc/group", id);
		bfmt(out, sizeof(out), "%s/etc/group", tmpdir);
		run_capture(cp, NULL, 0);
		run_capture(rm, NULL, 0);
	}
}

/* Take passwd and group from the image's root, as --rootfs does. */
static void image_read_passwd(struct doctor *dr, const char *eng)
{
	const struct passwd_db *db;

	mapsrc_set_rootfs(&dr->ms, dr->image_root);
	db = mapsrc_passwd_db(&dr->ms);
	if (db && db->err) {
		warn("could not read /etc/passwd of image %s with %s: "
		     "%s; user names cannot be resolved",
		     dr->image, eng, db->diag.msg);
		dr->ms.passwd_path = NULL;
	}
	db = mapsrc_group_db(&dr->ms);
	if (db && db->err)
		dr->ms.group_path = NULL;
}

/* The image mounted or copied by this run, undone at exit too: a fatal
 * error later in the run (die()) must not leave it behind. */
static struct doctor *image_dr;

static void image_atexit(void)
{
	if (image_dr)
		cleanup_image(image_dr);
}

/* --image: USER from the image config, passwd/group from its files. */
void load_image(struct doctor *dr)
{
	const char *eng = dr->engine_opt;

	image_dr = dr;
	atexit(image_atexit);

	if (!eng)
		eng = in_path("podman")	  ? "podman"
		      : in_path("docker") ? "docker"
					  : NULL;
	if (!eng || !in_path(eng))
		die(EXIT_FAIL,
		    "--image needs podman or docker, and %s installed; "
		    "give --user=USER and --rootfs=DIR (or --passwd/--group) "
		    "instead",
		    eng ? eng : "neither is");
	image_user(dr, eng);
	if (!dr->user_spec)
		dr->user_spec = dr->image_user[0] ? dr->image_user : "0";
	if (dr->ms.passwd_path)
		return;

	if (!strcmp(eng, "podman"))
		image_mount_podman(dr);
	else
		image_copy_docker(dr);
	if (dr->image_root[0]) {
		image_read_passwd(dr, eng);
		return;
	}
	warn("could not read /etc/passwd of image %s with %s; user "
	     "names cannot be resolved",
	     dr->image, eng);
}

void cleanup_image(struct doctor *dr)
{
	char buf[PATH_MAX];

	if (dr->image_tmp) {
		bfmt(buf, sizeof(buf), "%s/etc/passwd", dr->image_root);
		unlink(buf);
		bfmt(buf, sizeof(buf), "%s/etc/group", dr->image_root);
		unlink(buf);
		bfmt(buf, sizeof(buf), "%s/etc", dr->image_root);
		rmdir(buf);
		rmdir(dr->image_root);
		dr->image_tmp = false;
	} else if (dr->image_mounted) {
		const char *eng = dr->engine_opt ? dr->engine_opt : "podman";
		char *argv[] = {(char *)eng, (char *)"image", (char *)"unmount",
				(char *)dr->image, NULL};

		run_capture(argv, NULL, 0);
		dr->image_mounted = false;
	}
}

void doctor_image_ids(const char *image, const char *eng, uint32_t *uid,
		      uint32_t *gid)
{
	static struct doctor dr;
	struct shift_diag d = {""};
	int r;

	dr.image = image;
	dr.engine_opt = eng;
	mapsrc_init(&dr.ms, "plugin");
	load_image(&dr);
	r = passwd_db_resolve_pair(mapsrc_passwd_db(&dr.ms),
				   mapsrc_group_db(&dr.ms), dr.user_spec, uid,
				   gid, &d);
	cleanup_image(&dr);
	mapsrc_release(&dr.ms);
	if (r < 0)
		die(EXIT_FAIL, "image %s: USER %s: %s", image, dr.user_spec,
		    d.msg);
}
