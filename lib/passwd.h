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

/*
 * Resolve "NAME" or "UID" through passwd_path (may be NULL: numbers only).
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
