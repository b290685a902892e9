/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The raw value of system.posix_acl_access / system.posix_acl_default:
 * a little-endian header (version 2) and 8-byte entries. libacl exports no
 * codec for these bytes, so this is one, validating the way libacl's
 * __acl_from_xattr() does. Pure functions on caller buffers; thread-safe.
 */
#ifndef SHIFT_ACL_XATTR_H
#define SHIFT_ACL_XATTR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "idmap.h"

#define ACL_XATTR_ACCESS "system.posix_acl_access"
#define ACL_XATTR_DEFAULT "system.posix_acl_default"

struct acl_xattr_entry {
	uint16_t tag;  /* ACL_USER_OBJ ... ACL_OTHER from <linux/posix_acl.h> */
	uint16_t perm; /* ACL_READ | ACL_WRITE | ACL_EXECUTE */
	uint32_t id;   /* meaningful for ACL_USER and ACL_GROUP only */
};

/* true for the two xattr names whose values this module understands. */
bool acl_xattr_is_acl(const char *name);

/*
 * Validate buf and return the number of entries (>= 0), or -EINVAL for a
 * blob shorter than the header, a version other than 2, a size that is not
 * header + n entries, or an unknown tag.
 */
int acl_xattr_count(const void *buf, size_t size);

/* Decode into out (max entries). Returns the count, -EINVAL as above, or
 * -ERANGE when max is too small. */
int acl_xattr_decode(const void *buf, size_t size, struct acl_xattr_entry *out,
		     size_t max);

/* Encode n entries into buf. Returns the size needed; nothing is written
 * when size is smaller than that. */
size_t acl_xattr_encode(const struct acl_xattr_entry *e, size_t n, void *buf,
			size_t size);

/*
 * Shift every ACL_USER and ACL_GROUP entry of the blob in place, all or
 * nothing: an entry whose id the map does not cover (in the direction
 * asked: to_view disk -> view, !to_view view -> disk) fails the whole call
 * with -EOVERFLOW and leaves buf unchanged. -EINVAL for a malformed blob.
 * Returns 0, or 1 when at least one id changed. Entries are not sorted.
 */
int acl_xattr_shift(void *buf, size_t size, const struct idmaps *m,
		    bool to_view);

/*
 * The view of an ACL read from disk, in place: mapped ACL_USER/ACL_GROUP
 * entries shifted disk -> view, entries naming an unmapped disk id left out
 * (no id can show them safely: the kernel refuses (uid_t)-1 inside an ACL
 * xattr and would match any other id against a real caller), the rest
 * sorted. The mask, if any, stays, so what the hidden entries' absence
 * grants is what an idmapped mount grants: nothing to anyone.
 * Returns the new size (<= size) or -EINVAL for a malformed blob.
 */
int acl_xattr_to_view(void *buf, size_t size, const struct idmaps *m);

/*
 * The disk value for an ACL written through the view: view (vsize bytes)
 * shifted view -> disk (-EOVERFLOW, nothing written, for an unmapped view
 * id), plus the entries of the current disk value (disk, dsize; NULL or
 * malformed: none) that acl_xattr_to_view() hides, so that rewriting an ACL
 * through the mount never deletes what the mount cannot show. An ACL
 * without a mask entry (only owner, group and other: setfacl -b) has no
 * named entries and keeps none. A new mask that would give a hidden entry
 * a right the old mask withheld is refused with -EPERM (the mount cannot
 * show whom it would empower; the idmapped mount refuses such an ACL too).
 * The result is sorted and goes to out; returns its size, -EINVAL for a
 * malformed view, or -ERANGE when osize is smaller than needed (vsize +
 * dsize is always enough).
 */
int acl_xattr_to_disk(const void *view, size_t vsize, const void *disk,
		      size_t dsize, const struct idmaps *m, void *out,
		      size_t osize);

/*
 * Put the entries in the kernel's canonical order (posix_acl_valid(): by
 * tag, and ACL_USER/ACL_GROUP entries by ascending id), in place. A map
 * need not preserve id order, so a shifted ACL must be sorted before a
 * filesystem sees it. Returns 0 (already in order), 1 (reordered) or
 * -EINVAL for a malformed blob.
 */
int acl_xattr_sort(void *buf, size_t size);

#endif
