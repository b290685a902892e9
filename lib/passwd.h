/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Users and groups as a container resolves them: from its own /etc/passwd
 * and /etc/group files, never from the host's NSS. Also host account
 * look-ups for layouts (which name host users).
 */
#ifndef SHIFT_PASSWD_H
#define SHIFT_PASSWD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"

#define PASSWD_NAME_MAX 64
#define PASSWD_MAX_GROUPS 256

struct passwd_user {
	uint32_t uid;
	uint32_t gid;    /* primary group; valid when has_gid */
	bool has_gid;
	char name[PASSWD_NAME_MAX]; /* "" when given by number with no entry */
};
/* The largest passwd or group file read (4 MiB). */
#define PASSWD_FILE_MAX (4u << 20)

/*
 * A passwd or group file, read once into memory. Files are opened without
 * blocking (O_NONBLOCK|O_NOCTTY), only regular files are read, and at most
 * PASSWD_FILE_MAX bytes: a FIFO, a terminal or a device named where a
 * passwd file should be is refused, never waited on.
 *
 * A load that fails is remembered (err, diag) and reported by every lookup
 * on the db, the way a path that cannot be opened was.
 */
struct passwd_db {
	char *data; /* contents, NUL-terminated; NULL when err */
	size_t len;
	int err; /* 0 or -errno of the load */
	struct shift_diag diag;
	char name[4096]; /* the file's name, for messages */
};

/*
 * Open path for reading as a container's passwd or group file. With
 * rootfd >= 0, path is resolved inside that directory as the container
 * would resolve it (openat2() RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS): an
 * absolute symlink such as etc/passwd -> /etc/shadow names ROOT/etc/shadow,
 * never the host's. With rootfd < 0, path is opened as given (a file the
 * administrator named). Returns an fd of a regular file or -errno: -EINVAL
 * "not a regular file", -EFBIG beyond PASSWD_FILE_MAX. Thread-safe.
 */
int passwd_open_file(int rootfd, const char *path, struct shift_diag *d);

/*
 * Fill db from fd (a passwd_open_file() result; not closed). name is used
 * in messages. Returns db->err.
 */
int passwd_db_read_fd(struct passwd_db *db, int fd, const char *name);
/* passwd_open_file() + passwd_db_read_fd(). Returns db->err. */
int passwd_db_load(struct passwd_db *db, int rootfd, const char *path,
		   const char *name);
/* Free db's contents (db itself is the caller's); safe on a zeroed db. */
void passwd_db_free(struct passwd_db *db);

/*
 * The lookups below on a loaded db (NULL: no file given, numbers only).
 * The path-named functions further down load the file for one lookup.
 */
int passwd_db_user_lookup(const struct passwd_db *db, const char *spec,
			  struct passwd_user *out, struct shift_diag *d);
int passwd_db_group_lookup(const struct passwd_db *db, const char *spec,
			   uint32_t *gid, struct shift_diag *d);
int passwd_db_user_groups(const struct passwd_db *db, const char *name,
			  uint32_t *gids, size_t max, struct shift_diag *d);
int passwd_db_resolve_pair(const struct passwd_db *pw,
			   const struct passwd_db *gr, const char *spec,
			   uint32_t *uid, uint32_t *gid, struct shift_diag *d);


/*
 * Resolve "NAME" or "UID" through passwd_path (may be NULL: numbers only;
 * opened as passwd_open_file() with no root).
 * A number with no entry resolves to itself with has_gid false.
 * Errors: -ENOENT "user NAME not found in FILE", -errno reading the file,
 * -EINVAL for an empty spec.
 */
int passwd_user_lookup(const char *passwd_path, const char *spec,
		       struct passwd_user *out, struct shift_diag *d);

/* Resolve "NAME" or "GID" through group_path (may be NULL: numbers only). */
int passwd_group_lookup(const char *group_path, const char *spec,
			uint32_t *gid, struct shift_diag *d);

/*
 * Supplementary groups of user name from group_path: fills gids (at most
 * max) and returns how many, or -errno.
 */
int passwd_user_groups(const char *group_path, const char *name,
		       uint32_t *gids, size_t max, struct shift_diag *d);

/*
 * "C[:G]" -> uid and gid: C through passwd_user_lookup, G through
 * passwd_group_lookup, or C's primary group when G is absent (the number C
 * itself when C has no passwd entry).
 */
int passwd_resolve_pair(const char *passwd_path, const char *group_path,
			const char *spec, uint32_t *uid, uint32_t *gid,
			struct shift_diag *d);

/* A host account (NSS): name or number. A number with no account resolves
 * to itself with gid = uid and name "". -ENOENT "no such user NAME". */
int passwd_host_user(const char *spec, struct passwd_user *out,
		     struct shift_diag *d);

#endif
