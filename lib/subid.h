/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * /etc/subuid and /etc/subgid: "OWNER:START:COUNT" lines, OWNER a user name
 * or a numeric uid (as shadow's newuidmap accepts), '#' comments and blank
 * lines ignored. A user may have several lines; they are kept in file order.
 */
#ifndef SHIFT_SUBID_H
#define SHIFT_SUBID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "idmap.h"

struct subid_range {
	uint32_t start;
	uint32_t count;
};

struct subid_ranges {
	uint32_t n;
	struct subid_range r[IDMAP_MAX_RANGES];
};

/*
 * Collect the ranges of the user named name (or whose numeric uid is id,
 * when has_id) from text of length len; file is the name used in messages.
 * Errors: -EINVAL for a malformed line (file:line and token in d), -ERANGE
 * for a range past 2^32, -E2BIG for too many, -ENOENT when the user has no
 * entry ("no entry for user NAME in FILE").
 */
int subid_parse(const char *text, size_t len, const char *file,
		const char *name, bool has_id, uint32_t id,
		struct subid_ranges *out, struct shift_diag *d);

/* The same, reading path. -errno from open/read with d naming the file. */
int subid_read(const char *path, const char *name, bool has_id, uint32_t id,
	       struct subid_ranges *out, struct shift_diag *d);

/*
 * The host ids that the holders of map's view side hold (the set A of
 * shadow's newuidmap, for everyone the view ids belong to): the view ids
 * themselves, and for every passwd user whose own id (uid, or primary gid
 * when gids) or one of whose ranges in path overlaps them, that id and all
 * of that user's ranges. Used to decide which disk ids are foreign to the
 * people a mount is for. out's ranges may overlap one another. 0, or -errno
 * (-E2BIG: more ranges than fit; d names the file for read errors).
 */
int subid_held(const char *path, const struct idmap *map, bool gids,
	       struct subid_ranges *out, struct shift_diag *d);

/*
 * One user's own ids as shadow's newuidmap counts them (its set A): own
 * (their uid, or their primary gid for /etc/subgid) and the ranges path
 * gives the user named name or numbered id (either matches, as in shadow).
 * No entry, or no file, leaves just own. 0, or -errno from reading or
 * parsing path (d filled): a malformed file is an error, never "no ids".
 */
int subid_own(const char *path, const char *name, uint32_t id, uint32_t own,
	      struct subid_ranges *out, struct shift_diag *d);

/*
 * Does the union of set's ranges cover every id of [start, start + count)?
 * When not, *missing (may be NULL) is the first id it does not cover.
 */
bool subid_ranges_cover(const struct subid_ranges *set, uint32_t start,
			uint32_t count, uint32_t *missing);

/* Is id in one of the ranges of set? */
bool subid_ranges_have(const struct subid_ranges *set, uint32_t id);

#endif
