/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Id maps: ordered, validated lists of DISK VIEW COUNT ranges (DESIGN.md).
 *
 * A struct idmap is built once with idmap_add() (which validates every range
 * against those already present) and is immutable afterwards: lookups do no
 * allocation and take no lock, so any number of threads may call them.
 * No function here allocates: a map lives wherever the caller puts it.
 */
#ifndef SHIFT_IDMAP_H
#define SHIFT_IDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"

/* The kernel's limit for /proc/PID/uid_map lines. */
#define IDMAP_MAX_RANGES 340
/* What the kernel shows for an id it cannot map, if /proc says nothing. */
#define IDMAP_DEFAULT_OVERFLOW 65534u

struct idmap_range {
	uint32_t disk;
	uint32_t view;
	uint32_t count; /* >= 1; disk + count and view + count <= 2^32 */
};

struct idmap {
	uint32_t n;
	struct idmap_range r[IDMAP_MAX_RANGES]; /* in the order added */
	/* Indexes into r[], sorted by disk and by view, for lookups. */
	uint16_t by_disk[IDMAP_MAX_RANGES];
	uint16_t by_view[IDMAP_MAX_RANGES];
};

/* The uid and gid maps of one layout, with the overflow ids to show for
 * disk ids that neither maps. */
struct idmaps {
	struct idmap uid;
	struct idmap gid;
	uint32_t overflow_uid;
	uint32_t overflow_gid;
};

enum idmap_kind { IDMAP_UID, IDMAP_GID };

void idmap_init(struct idmap *m);

/*
 * Zero both maps and set the overflow ids from /proc/sys/kernel/overflowuid
 * and overflowgid (IDMAP_DEFAULT_OVERFLOW where unreadable or malformed).
 */
void idmaps_init(struct idmaps *m);

/*
 * Append a range. Errors (with d filled):
 *   -EINVAL  count 0, or the range overlaps an existing one on the disk or
 *            on the view side
 *   -ERANGE  the range runs past 2^32 on either side
 *   -E2BIG   more than IDMAP_MAX_RANGES ranges
 */
int idmap_add(struct idmap *m, uint32_t disk, uint32_t view, uint32_t count,
	      struct shift_diag *d);

/* disk -> view. Returns 0 and sets *view, or -EOVERFLOW when unmapped. */
int idmap_to_view(const struct idmap *m, uint32_t disk, uint32_t *view);

/* view -> disk. Returns 0 and sets *disk, or -EOVERFLOW when unmapped. */
int idmap_to_disk(const struct idmap *m, uint32_t view, uint32_t *disk);

/* Translate in the given direction (to_view true: disk->view). */
int idmap_translate(const struct idmap *m, bool to_view, uint32_t in,
		    uint32_t *out);

/*
 * disk -> view, showing an unmapped disk id as the overflow id. For display
 * (shiftctl map, doctor) only: an owner reported to the kernel as the
 * overflow id would be matched against whoever really has it; the daemon
 * reports (uid_t)-1 instead (DESIGN.md: shown, never matched).
 */
uint32_t idmaps_uid_to_view(const struct idmaps *m, uint32_t disk);
uint32_t idmaps_gid_to_view(const struct idmaps *m, uint32_t disk);

/* true when every id maps to itself (empty maps are not identity). */
bool idmap_is_identity(const struct idmap *m);

/* Swap the disk and view side of every range (for "--reverse"). */
void idmap_invert(struct idmap *m);

/* Total number of ids mapped. */
uint64_t idmap_size(const struct idmap *m);

/*
 * Write the map in /proc/PID/uid_map form ("DISK VIEW COUNT\n" per range, in
 * the order added) into buf. Returns the length that was needed (like
 * snprintf): a result >= len means buf was too small and was truncated.
 */
size_t idmap_format(const struct idmap *m, char *buf, size_t len);

/* Same, as the compact spec "DISK:VIEW:COUNT,..." accepted by the parser. */
size_t idmap_format_spec(const struct idmap *m, char *buf, size_t len);

/* Same with ':' between ranges too ("0:100000:65536:65536:1000:1"), the
 * form for shiftfs's -o uidmap=, where a comma would end the option. */
size_t idmap_format_opt(const struct idmap *m, char *buf, size_t len);

#endif
