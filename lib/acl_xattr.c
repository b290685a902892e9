/* SPDX-License-Identifier: GPL-2.0-or-later */
/* POSIX ACL xattr codec; see acl_xattr.h. */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <linux/posix_acl.h>
#include <linux/posix_acl_xattr.h>

#include "acl_xattr.h"

#define HDR_SIZE sizeof(struct posix_acl_xattr_header)
#define ENT_SIZE sizeof(struct posix_acl_xattr_entry)

bool acl_xattr_is_acl(const char *name)
{
	return strcmp(name, ACL_XATTR_ACCESS) == 0 ||
	       strcmp(name, ACL_XATTR_DEFAULT) == 0;
}

static bool tag_known(uint16_t tag)
{
	switch (tag) {
	case ACL_USER_OBJ:
	case ACL_USER:
	case ACL_GROUP_OBJ:
	case ACL_GROUP:
	case ACL_MASK:
	case ACL_OTHER:
		return true;
	default:
		return false;
	}
}

/* Entries are read with memcpy: a blob from getxattr need not be aligned. */
static void get_entry(const void *buf, size_t i, struct acl_xattr_entry *e)
{
	struct posix_acl_xattr_entry raw;

	memcpy(&raw, (const char *)buf + HDR_SIZE + i * ENT_SIZE, ENT_SIZE);
	e->tag = le16toh(raw.e_tag);
	e->perm = le16toh(raw.e_perm);
	e->id = le32toh(raw.e_id);
}

static void put_entry(void *buf, size_t i, const struct acl_xattr_entry *e)
{
	struct posix_acl_xattr_entry raw;

	raw.e_tag = htole16(e->tag);
	raw.e_perm = htole16(e->perm);
	raw.e_id = htole32(e->id);
	memcpy((char *)buf + HDR_SIZE + i * ENT_SIZE, &raw, ENT_SIZE);
}

int acl_xattr_count(const void *buf, size_t size)
{
	struct posix_acl_xattr_header hdr;
	struct acl_xattr_entry e;
	size_t i, n;

	if (size < HDR_SIZE || (size - HDR_SIZE) % ENT_SIZE != 0)
		return -EINVAL;
	memcpy(&hdr, buf, HDR_SIZE);
	if (le32toh(hdr.a_version) != POSIX_ACL_XATTR_VERSION)
		return -EINVAL;
	n = (size - HDR_SIZE) / ENT_SIZE;
	if (n > 65536)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		get_entry(buf, i, &e);
		if (!tag_known(e.tag))
			return -EINVAL;
	}
	return (int)n;
}

int acl_xattr_decode(const void *buf, size_t size, struct acl_xattr_entry *out,
		     size_t max)
{
	int n = acl_xattr_count(buf, size);
	int i;

	if (n < 0)
		return n;
	if ((size_t)n > max)
		return -ERANGE;
	for (i = 0; i < n; i++)
		get_entry(buf, (size_t)i, &out[i]);
	return n;
}

size_t acl_xattr_encode(const struct acl_xattr_entry *e, size_t n, void *buf,
			size_t size)
{
	struct posix_acl_xattr_header hdr;
	size_t need = HDR_SIZE + n * ENT_SIZE, i;

	if (size < need)
		return need;
	hdr.a_version = htole32(POSIX_ACL_XATTR_VERSION);
	memcpy(buf, &hdr, HDR_SIZE);
	for (i = 0; i < n; i++)
		put_entry(buf, i, &e[i]);
	return need;
}

static const struct idmap *map_of(const struct acl_xattr_entry *e,
				  const struct idmaps *m)
{
	if (e->tag == ACL_USER)
		return &m->uid;
	if (e->tag == ACL_GROUP)
		return &m->gid;
	return NULL;
}

/* 0 unchanged, 1 changed, -EOVERFLOW unmapped (e untouched). */
static int shift_one(struct acl_xattr_entry *e, const struct idmaps *m,
		     bool to_view)
{
	const struct idmap *map = map_of(e, m);
	uint32_t out;

	if (!map)
		return 0;
	if (idmap_translate(map, to_view, e->id, &out) < 0)
		return -EOVERFLOW;
	if (out == e->id)
		return 0;
	e->id = out;
	return 1;
}

int acl_xattr_shift(void *buf, size_t size, const struct idmaps *m,
		    bool to_view)
{
	struct acl_xattr_entry e;
	int n = acl_xattr_count(buf, size);
	int i, r, changed = 0;

	if (n < 0)
		return n;
	/* Check all entries first so a refused blob is left untouched. */
	for (i = 0; i < n; i++) {
		get_entry(buf, (size_t)i, &e);
		r = shift_one(&e, m, to_view);
		if (r < 0)
			return r;
	}
	for (i = 0; i < n; i++) {
		get_entry(buf, (size_t)i, &e);
		if (shift_one(&e, m, to_view) > 0) {
			put_entry(buf, (size_t)i, &e);
			changed = 1;
		}
	}
	return changed;
}

/* true for a named entry whose disk id has no view id. */
static bool hidden(const struct acl_xattr_entry *e, const struct idmaps *m)
{
	const struct idmap *map = map_of(e, m);
	uint32_t v;

	return map && idmap_to_view(map, e->id, &v) < 0;
}

int acl_xattr_to_view(void *buf, size_t size, const struct idmaps *m)
{
	struct acl_xattr_entry e;
	int n = acl_xattr_count(buf, size);
	size_t i, kept = 0;

	if (n < 0)
		return n;
	for (i = 0; i < (size_t)n; i++) {
		get_entry(buf, i, &e);
		if (hidden(&e, m))
			continue;
		shift_one(&e, m, true);
		put_entry(buf, kept++, &e);
	}
	size = HDR_SIZE + kept * ENT_SIZE;
	acl_xattr_sort(buf, size);
	return (int)size;
}

/* The mask entry's permissions in *perm; false when there is none. */
static bool mask_of(const void *buf, size_t n, uint16_t *perm)
{
	struct acl_xattr_entry e;
	size_t i;

	for (i = 0; i < n; i++) {
		get_entry(buf, i, &e);
		if (e.tag == ACL_MASK) {
			*perm = e.perm;
			return true;
		}
	}
	return false;
}

static bool has_mask(const void *buf, size_t n)
{
	uint16_t unused;

	return mask_of(buf, n, &unused);
}

/*
 * A hidden entry's rights are its permissions under the mask. A new mask
 * that gives one of them a right the old mask withheld would hand the
 * holder of an unmapped id rights through a mount that cannot show them.
 */
static bool widens_hidden(const void *view, size_t n, const void *disk,
			  size_t nd, const struct idmaps *m)
{
	struct acl_xattr_entry e;
	uint16_t new_mask, old_mask;
	size_t i;

	if (!mask_of(view, n, &new_mask))
		return false;
	if (!mask_of(disk, nd, &old_mask))
		old_mask = 0;
	for (i = 0; i < nd; i++) {
		get_entry(disk, i, &e);
		if (hidden(&e, m) && (e.perm & new_mask & ~old_mask))
			return true;
	}
	return false;
}

int acl_xattr_to_disk(const void *view, size_t vsize, const void *disk,
		      size_t dsize, const struct idmaps *m, void *out,
		      size_t osize)
{
	struct acl_xattr_entry e;
	int n = acl_xattr_count(view, vsize), nd = -EINVAL;
	size_t i, need, used;

	if (n < 0)
		return n;
	if (disk && has_mask(view, (size_t)n))
		nd = acl_xattr_count(disk, dsize);
	need = vsize;
	for (i = 0; nd > 0 && i < (size_t)nd; i++) {
		get_entry(disk, i, &e);
		if (hidden(&e, m))
			need += ENT_SIZE;
	}
	for (i = 0; i < (size_t)n; i++) {
		get_entry(view, i, &e);
		if (shift_one(&e, m, false) < 0)
			return -EOVERFLOW;
	}
	if (nd > 0 && widens_hidden(view, (size_t)n, disk, (size_t)nd, m))
		return -EPERM;
	if (osize < need)
		return -ERANGE;
	memmove(out, view, HDR_SIZE);
	for (i = 0; i < (size_t)n; i++) {
		get_entry(view, i, &e);
		shift_one(&e, m, false);
		put_entry(out, i, &e);
	}
	used = (size_t)n;
	for (i = 0; nd > 0 && i < (size_t)nd; i++) {
		get_entry(disk, i, &e);
		if (hidden(&e, m))
			put_entry(out, used++, &e);
	}
	acl_xattr_sort(out, need);
	return (int)need;
}

static bool entry_before(const struct acl_xattr_entry *a,
			 const struct acl_xattr_entry *b)
{
	if (a->tag != b->tag)
		return a->tag < b->tag;
	if (a->tag != ACL_USER && a->tag != ACL_GROUP)
		return false;
	return a->id < b->id;
}

int acl_xattr_sort(void *buf, size_t size)
{
	struct acl_xattr_entry cur, prev;
	int n = acl_xattr_count(buf, size);
	int i, j, moved = 0;

	if (n < 0)
		return n;
	/* Insertion sort: ACLs are short and nearly always in order. */
	for (i = 1; i < n; i++) {
		get_entry(buf, (size_t)i, &cur);
		for (j = i; j > 0; j--) {
			get_entry(buf, (size_t)j - 1, &prev);
			if (!entry_before(&cur, &prev))
				break;
			put_entry(buf, (size_t)j, &prev);
			moved = 1;
		}
		if (j != i)
			put_entry(buf, (size_t)j, &cur);
	}
	return moved;
}
