/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Container passwd/group resolution with glibc's fgetpwent_r/fgetgrent_r,
 * which read a given file instead of consulting NSS. The file is read once
 * into memory from an fd opened without following anything out of the
 * container's root (passwd_open_file()) and parsed from there.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "parse_int.h"
#include "passwd.h"

#define OPEN_FLAGS (O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)

int passwd_open_file(int rootfd, const char *path, struct shift_diag *d)
{
	_cleanup_close_ int fd = -1;
	struct stat st;

	if (rootfd >= 0) {
		struct open_how how = {
			.flags = OPEN_FLAGS,
			.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
		};

		fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	} else {
		fd = open(path, OPEN_FLAGS);
	}
	if (fd < 0)
		return shift_diag_set(d, errno, "%s: %s", path,
				      strerror(errno));
	if (fstat(fd, &st) < 0)
		return shift_diag_set(d, errno, "%s: %s", path,
				      strerror(errno));
	if (!S_ISREG(st.st_mode))
		return shift_diag_set(d, EINVAL, "%s: not a regular file",
				      path);
	if (st.st_size > (off_t)PASSWD_FILE_MAX)
		return shift_diag_set(d, EFBIG, "%s: larger than %u MiB", path,
				      PASSWD_FILE_MAX >> 20);
	return steal_fd(&fd);
}

int passwd_db_read_fd(struct passwd_db *db, int fd, const char *name)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap + 1);

	memset(db, 0, sizeof(*db));
	snprintf(db->name, sizeof(db->name), "%s", name);
	if (!buf)
		return db->err = shift_diag_set(&db->diag, ENOMEM,
						"out of memory");
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *nb;

			if (cap > PASSWD_FILE_MAX) {
				free(buf);
				return db->err = shift_diag_set(
					       &db->diag, EFBIG,
					       "%s: larger than %u MiB", name,
					       PASSWD_FILE_MAX >> 20);
			}
			cap *= 2;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				free(buf);
				return db->err = shift_diag_set(
					       &db->diag, ENOMEM,
					       "out of memory");
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			free(buf);
			return db->err = shift_diag_set(&db->diag, e,
							"%s: %s", name,
							strerror(e));
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > PASSWD_FILE_MAX) {
		free(buf);
		return db->err = shift_diag_set(&db->diag, EFBIG,
						"%s: larger than %u MiB", name,
						PASSWD_FILE_MAX >> 20);
	}
	buf[len] = '\0';
	db->data = buf;
	db->len = len;
	return 0;
}

int passwd_db_load(struct passwd_db *db, int rootfd, const char *path,
		   const char *name)
{
	_cleanup_close_ int fd = -1;
	struct shift_diag d = {""};

	fd = passwd_open_file(rootfd, path, &d);
	if (fd < 0) {
		memset(db, 0, sizeof(*db));
		snprintf(db->name, sizeof(db->name), "%s", name);
		/* Messages name the file as the user gave it. */
		if (rootfd >= 0)
			shift_diag_set(&db->diag, -fd, "%s: %s", name,
				       fd == -EINVAL ? "not a regular file"
				       : fd == -EFBIG ? "larger than 4 MiB"
						      : strerror(-fd));
		else
			db->diag = d;
		return db->err = fd;
	}
	return passwd_db_read_fd(db, fd, name);
}

void passwd_db_free(struct passwd_db *db)
{
	free(db->data);
	db->data = NULL;
	db->len = 0;
}

/* A stream over db's contents, or -errno (db's load error). */
static int open_db(const struct passwd_db *db, FILE **f, struct shift_diag *d)
{
	*f = NULL;
	if (db->err) {
		if (d)
			*d = db->diag;
		return db->err;
	}
	if (!db->len)
		return 0; /* empty: no entries (fmemopen refuses size 0) */
	*f = fmemopen(db->data, db->len, "r");
	if (!*f)
		return shift_diag_set(d, errno, "%s: %s", db->name,
				      strerror(errno));
	return 0;
}

/* A user spec: 1 and *num for a uid, 0 for a name, or -errno with d
 * set (empty, or a uid out of range). */
static int user_spec(const char *spec, uint32_t *num, struct shift_diag *d)
{
	int r;

	if (!spec || !*spec)
		return shift_diag_set(d, EINVAL, "empty user name");
	r = parse_u32(spec, 0, UINT32_MAX - 1, num);
	if (r == -ERANGE)
		return shift_diag_set(d, ERANGE,
				      "uid %s is out of range (0 to %u)", spec,
				      UINT32_MAX - 1);
	return r == 0;
}

int passwd_db_user_lookup(const struct passwd_db *db, const char *spec,
			  struct passwd_user *out, struct shift_diag *d)
{
	_cleanup_fclose_ FILE *f = NULL;
	struct passwd pw, *res;
	char buf[4096];
	uint32_t num;
	bool numeric;
	int r;

	r = user_spec(spec, &num, d);
	if (r < 0)
		return r;
	numeric = r == 1;
	memset(out, 0, sizeof(*out));
	if (db) {
		r = open_db(db, &f, d);
		if (r < 0)
			return r;
		while (f && fgetpwent_r(f, &pw, buf, sizeof(buf), &res) == 0) {
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
	if (!numeric && !db)
		return shift_diag_set(d, ENOENT,
				      "user %s: no passwd file to look the "
				      "name up in",
				      spec);
	if (!numeric)
		return shift_diag_set(d, ENOENT, "user %s not found in %s",
				      spec, db->name);
	out->uid = num;
	return 0;
}

int passwd_db_group_lookup(const struct passwd_db *db, const char *spec,
			   uint32_t *gid, struct shift_diag *d)
{
	_cleanup_fclose_ FILE *f = NULL;
	struct group gr, *res;
	char buf[16384];
	uint32_t num;
	int r;

	if (!spec || !*spec)
		return shift_diag_set(d, EINVAL, "empty group name");
	r = parse_u32(spec, 0, UINT32_MAX - 1, &num);
	if (r == -ERANGE)
		return shift_diag_set(d, ERANGE,
				      "gid %s is out of range (0 to %u)", spec,
				      UINT32_MAX - 1);
	if (r == 0) {
		*gid = num;
		return 0;
	}
	if (!db)
		return shift_diag_set(d, ENOENT,
				      "group %s: no group file given", spec);
	r = open_db(db, &f, d);
	if (r < 0)
		return r;
	while (f && fgetgrent_r(f, &gr, buf, sizeof(buf), &res) == 0) {
		if (strcmp(gr.gr_name, spec) == 0) {
			*gid = gr.gr_gid;
			return 0;
		}
	}
	return shift_diag_set(d, ENOENT, "group %s not found in %s", spec,
			      db->name);
}

int passwd_db_user_groups(const struct passwd_db *db, const char *name,
			  uint32_t *gids, size_t max, struct shift_diag *d)
{
	_cleanup_fclose_ FILE *f = NULL;
	struct group gr, *res;
	char buf[16384];
	size_t n = 0;
	int r;

	if (!db || !name || !*name)
		return 0;
	r = open_db(db, &f, d);
	if (r < 0)
		return r;
	while (f && fgetgrent_r(f, &gr, buf, sizeof(buf), &res) == 0) {
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

int passwd_db_resolve_pair(const struct passwd_db *pw,
			   const struct passwd_db *gr, const char *spec,
			   uint32_t *uid, uint32_t *gid, struct shift_diag *d)
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
	r = passwd_db_user_lookup(pw, copy, &u, d);
	if (r < 0)
		return r;
	*uid = u.uid;
	if (colon)
		return passwd_db_group_lookup(gr, colon + 1, gid, d);
	*gid = u.has_gid ? u.gid : u.uid;
	return 0;
}

/* The path-named forms: a db for one lookup (NULL path: none). */
static struct passwd_db *load_path(struct passwd_db *db, const char *path)
{
	if (!path)
		return NULL;
	passwd_db_load(db, -1, path, path);
	return db;
}

int passwd_user_lookup(const char *passwd_path, const char *spec,
		       struct passwd_user *out, struct shift_diag *d)
{
	struct passwd_db db;
	int r = passwd_db_user_lookup(load_path(&db, passwd_path), spec, out,
				      d);

	if (passwd_path)
		passwd_db_free(&db);
	return r;
}

int passwd_group_lookup(const char *group_path, const char *spec,
			uint32_t *gid, struct shift_diag *d)
{
	struct passwd_db db;
	int r;

	/* A number needs no file: do not open one. */
	if (spec && parse_u32(spec, 0, UINT32_MAX - 1, gid) == 0)
		return 0;
	r = passwd_db_group_lookup(load_path(&db, group_path), spec, gid, d);
	if (group_path)
		passwd_db_free(&db);
	return r;
}

int passwd_user_groups(const char *group_path, const char *name,
		       uint32_t *gids, size_t max, struct shift_diag *d)
{
	struct passwd_db db;
	int r;

	if (!group_path || !name || !*name)
		return 0;
	r = passwd_db_user_groups(load_path(&db, group_path), name, gids, max,
				  d);
	passwd_db_free(&db);
	return r;
}

int passwd_resolve_pair(const char *passwd_path, const char *group_path,
			const char *spec, uint32_t *uid, uint32_t *gid,
			struct shift_diag *d)
{
	struct passwd_db pw, gr;
	struct passwd_db *pp = load_path(&pw, passwd_path);
	struct passwd_db *gp = load_path(&gr, group_path);
	int r = passwd_db_resolve_pair(pp, gp, spec, uid, gid, d);

	if (pp)
		passwd_db_free(pp);
	if (gp)
		passwd_db_free(gp);
	return r;
}

int passwd_host_user(const char *spec, struct passwd_user *out,
		     struct shift_diag *d)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	uint32_t num;
	bool numeric;
	int r;

	r = user_spec(spec, &num, d);
	if (r < 0)
		return r;
	numeric = r == 1;
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
