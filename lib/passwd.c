/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Container passwd/group resolution with glibc's fgetpwent_r/fgetgrent_r,
 * which read a given file instead of consulting NSS.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "parse_int.h"
#include "passwd.h"

static int open_db(const char *path, FILE **f, struct shift_diag *d)
{
	*f = fopen(path, "re");
	if (!*f)
		return shift_diag_set(d, errno, "%s: %s", path,
				      strerror(errno));
	return 0;
}

int passwd_user_lookup(const char *passwd_path, const char *spec,
		       struct passwd_user *out, struct shift_diag *d)
{
	_cleanup_fclose_ FILE *f = NULL;
	struct passwd pw, *res;
	char buf[4096];
	uint32_t num;
	bool numeric;
	int r;

	if (!spec || !*spec)
		return shift_diag_set(d, EINVAL, "empty user name");
	numeric = parse_u32(spec, 0, UINT32_MAX - 1, &num) == 0;
	memset(out, 0, sizeof(*out));
	if (passwd_path) {
		r = open_db(passwd_path, &f, d);
		if (r < 0)
			return r;
		while (fgetpwent_r(f, &pw, buf, sizeof(buf), &res) == 0) {
			if (numeric ? pw.pw_uid != num
				    : strcmp(pw.pw_name, spec) != 0)
				continue;
			out->uid = pw.pw_uid;
			out->gid = pw.pw_gid;
			out->has_gid = true;
			snprintf(out->name, sizeof(out->name), "%s",
				 pw.pw_name);
			return 0;
		}
	}
	if (!numeric)
		return shift_diag_set(d, ENOENT, "user %s not found in %s",
				      spec,
				      passwd_path ? passwd_path
						  : "(no passwd file given)");
	out->uid = num;
	return 0;
}

int passwd_group_lookup(const char *group_path, const char *spec,
			uint32_t *gid, struct shift_diag *d)
{
	_cleanup_fclose_ FILE *f = NULL;
	struct group gr, *res;
	char buf[16384];
	uint32_t num;
	int r;

	if (!spec || !*spec)
		return shift_diag_set(d, EINVAL, "empty group name");
	if (parse_u32(spec, 0, UINT32_MAX - 1, &num) == 0) {
		*gid = num;
		return 0;
	}
	if (!group_path)
		return shift_diag_set(d, ENOENT,
				      "group %s: no group file given", spec);
	r = open_db(group_path, &f, d);
	if (r < 0)
		return r;
	while (fgetgrent_r(f, &gr, buf, sizeof(buf), &res) == 0) {
		if (strcmp(gr.gr_name, spec) == 0) {
			*gid = gr.gr_gid;
			return 0;
		}
	}
	return shift_diag_set(d, ENOENT, "group %s not found in %s", spec,
			      group_path);
}

int passwd_user_groups(const char *group_path, const char *name,
		       uint32_t *gids, size_t max, struct shift_diag *d)
{
	_cleanup_fclose_ FILE *f = NULL;
	struct group gr, *res;
	char buf[16384];
	size_t n = 0;
	int r;

	if (!group_path || !name || !*name)
		return 0;
	r = open_db(group_path, &f, d);
	if (r < 0)
		return r;
	while (fgetgrent_r(f, &gr, buf, sizeof(buf), &res) == 0) {
		char **m;
		for (m = gr.gr_mem; *m; m++) {
			if (strcmp(*m, name) == 0 && n < max) {
				gids[n++] = gr.gr_gid;
				break;
			}
		}
	}
	return (int)n;
}

int passwd_resolve_pair(const char *passwd_path, const char *group_path,
			const char *spec, uint32_t *uid, uint32_t *gid,
			struct shift_diag *d)
{
	_cleanup_free_ char *copy = strdup(spec);
	struct passwd_user u;
	char *colon;
	int r;

	if (!copy)
		return -ENOMEM;
	colon = strchr(copy, ':');
	if (colon)
		*colon = '\0';
	r = passwd_user_lookup(passwd_path, copy, &u, d);
	if (r < 0)
		return r;
	*uid = u.uid;
	if (colon)
		return passwd_group_lookup(group_path, colon + 1, gid, d);
	*gid = u.has_gid ? u.gid : u.uid;
	return 0;
}

int passwd_host_user(const char *spec, struct passwd_user *out,
		     struct shift_diag *d)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	uint32_t num;
	bool numeric;

	if (!spec || !*spec)
		return shift_diag_set(d, EINVAL, "empty user name");
	numeric = parse_u32(spec, 0, UINT32_MAX - 1, &num) == 0;
	memset(out, 0, sizeof(*out));
	if (numeric)
		getpwuid_r(num, &pw, buf, sizeof(buf), &res);
	else
		getpwnam_r(spec, &pw, buf, sizeof(buf), &res);
	if (res) {
		out->uid = pw.pw_uid;
		out->gid = pw.pw_gid;
		out->has_gid = true;
		snprintf(out->name, sizeof(out->name), "%s", pw.pw_name);
		return 0;
	}
	if (!numeric)
		return shift_diag_set(d, ENOENT, "no such user: %s", spec);
	out->uid = num;
	out->gid = num;
	return 0;
}
