/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * security.capability values (struct vfs_ns_cap_data). Only revision 3
 * carries a root id (the uid that is "root" for these capabilities); it is
 * shifted like any owner. Revisions 1 and 2 pass through unchanged.
 * Pure functions on caller buffers; thread-safe.
 */
#ifndef SHIFT_FCAPS_XATTR_H
#define SHIFT_FCAPS_XATTR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "idmap.h"

#define FCAPS_XATTR "security.capability"

/* The revision (1, 2 or 3), or -EINVAL for a value of the wrong size for
 * its revision or an unknown revision. */
int fcaps_xattr_revision(const void *buf, size_t size);

/* The v3 root id; -EINVAL unless buf is a valid v3 value. */
int fcaps_xattr_rootid(const void *buf, size_t size, uint32_t *rootid);

/*
 * Shift a v3 root id in place through the uid map (to_view: disk -> view).
 * Returns 0 (unchanged, including v1/v2), 1 (changed), -EINVAL (malformed)
 * or -EOVERFLOW (the root id has no image under the map: the kernel refuses
 * such capabilities rather than guess; buf is left unchanged).
 */
int fcaps_xattr_shift(void *buf, size_t size, const struct idmap *uidmap,
		      bool to_view);

/*
 * What a shifting mount must present, the way the kernel's idmapped mounts
 * do: a v1/v2 value means "capabilities for root", i.e. for disk uid 0, so
 * under a map that moves 0 it becomes v3 with rootid = the image of 0; a v3
 * rootid is translated; a value whose rootid maps to 0 keeps its revision.
 * in/in_size is the value read (to_view) or given (!to_view); out must have
 * room for FCAPS_XATTR_MAX bytes and may be in. Returns the size written,
 * -EINVAL for a malformed value, or -EOVERFLOW when the root id has no image
 * (a reader then treats the file as having no capabilities: ENODATA).
 */
#define FCAPS_XATTR_MAX 24
int fcaps_xattr_convert(const void *in, size_t in_size, void *out,
			const struct idmap *uidmap, bool to_view);

#endif
