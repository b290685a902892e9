/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shiftctl doctor's engine, in order: the image (--image), the engine and
 * its layout, USER and the map, the mount, the scan with its verdicts, and
 * the ranked fixes (doctor.h). From the real tree: the host ids USER and
 * its groups have under the map, how every owner found appears inside the
 * container, and, entry by entry, whether USER can reach, read, write (and
 * execute) it, decided by the kernel's rules (access.h). Every entry is
 * also judged under the cures (an owner-mode shifted mount, an in-place
 * chown, a shift), so the fixes can be ranked by how many problems each
 * one leaves.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "doctor_int.h"

/* For the commands doctor suggests: a file option as an absolute path. */
static void absolute(const char **path, char buf[PATH_MAX])
{
	if (*path && **path != '/' && realpath(*path, buf))
		*path = buf;
}

void doctor_run(struct doctor *dr)
{
	_cleanup_free_ char *shown = tty_escape(dr->path);
	struct stat st;
	int fd;

	dr->root_fd = -1;
	dr->src_fd = -1;
	if (!realpath(dr->path, dr->realpath))
		die(EXIT_FAIL, "%s: %s", shown, strerror(errno));
	/* Resolved once; from here on PATH is this fd, never the name. */
	fd = open_root(dr);
	if (fd == -ESTALE || fd == -ELOOP)
		die(EXIT_FAIL,
		    "%s: changed while being opened (a directory on its path "
		    "was renamed or replaced by a symlink)",
		    shown);
	if (fd < 0)
		die(EXIT_FAIL, "%s: %s", shown, strerror(-fd));
	dr->root_fd = fd;
	if (fstat(dr->root_fd, &st) < 0)
		die(EXIT_FAIL, "%s: %s", shown, strerror(errno));
	dr->h_uid = st.st_uid;
	dr->h_gid = st.st_gid;

	absolute(&dr->ms.req.subuid_path, dr->subuid_abs);
	absolute(&dr->ms.req.subgid_path, dr->subgid_abs);
	if (dr->image)
		load_image(dr);
	detect_engine(dr);
	resolve_user(dr);
	build_map(dr);
	find_mount(dr);
	{
		static struct idmaps k;

		idmaps_init(&k);
		dr->kernel_ov_uid = k.overflow_uid;
		dr->kernel_ov_gid = k.overflow_gid;
	}
	find_view_source(dr);
	dr->selinux = selinux_enforcing();

	scan(dr);
	dr->nfix = build_fixes(dr, dr->fixes);
}

void doctor_release(struct doctor *dr)
{
	free_fixes(dr->fixes, dr->nfix);
	if (dr->image)
		cleanup_image(dr);
	mapsrc_release(&dr->ms);
	for (size_t i = 0; i < dr->nowners; i++)
		for (int k = 0; k < dr->owners[i].nsamples; k++)
			free(dr->owners[i].samples[k]);
	for (int k = 0; k < dr->other_owners.nsamples; k++)
		free(dr->other_owners.samples[k]);
	free(dr->first_error);
	if (dr->root_fd >= 0)
		close(dr->root_fd);
	dr->root_fd = -1;
	if (dr->src_fd >= 0)
		close(dr->src_fd);
	dr->src_fd = -1;
}

bool doctor_all_ok(const struct doctor *dr)
{
	return !dr->failed[SC_ASIS] && !dr->truncated && !dr->first_error;
}
