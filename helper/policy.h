/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * /etc/shiftfs/helper.conf: who may use shiftfs-idmap-helper and how much.
 * "KEY = VALUE" lines, '#' comments and blank lines ignored:
 *
 *   allow = all | subuid | group | none   (default all)
 *   allow-group = NAME                    (repeatable; members may use it
 *                                          whatever allow says, but none)
 *   max-mounts = N                        (0..1000, default 16 per user)
 *
 * A missing file means the defaults. The parser is pure (no I/O) so that
 * it can be fuzzed; group names are resolved by the caller.
 */
#ifndef SHIFT_HELPER_POLICY_H
#define SHIFT_HELPER_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"

#define POLICY_GROUPS_MAX 16
#define POLICY_NAME_MAX 64
#define POLICY_MOUNTS_MAX 1000
#define POLICY_DEFAULT_MOUNTS 16
/* The largest policy file read. */
#define POLICY_FILE_MAX 65536

enum policy_allow { POLICY_ALL, POLICY_SUBUID, POLICY_GROUP, POLICY_NONE };

struct helper_policy {
	enum policy_allow allow;
	uint32_t max_mounts;
	size_t ngroups;
	char groups[POLICY_GROUPS_MAX][POLICY_NAME_MAX];
};

/* The defaults: allow = all, max-mounts = 16, no groups. */
void policy_defaults(struct helper_policy *p);

/*
 * Parse text (len bytes, need not be NUL-terminated) over the defaults in
 * p. 0, or -EINVAL with d naming "FILE:LINE" and the problem (an unknown
 * key, a bad value, a NUL byte, too many groups); file names it.
 */
int policy_parse(const char *text, size_t len, const char *file,
		 struct helper_policy *p, struct shift_diag *d);

#endif
