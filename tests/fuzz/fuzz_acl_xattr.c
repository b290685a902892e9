/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz the POSIX ACL xattr codec and the security.capability root id
 * shift. Input: 8 bytes that choose the maps, then the xattr value.
 * Properties:
 *  - a blob acl_xattr_count() refuses is refused by decode and shift, and
 *    left unchanged;
 *  - decode then encode gives back the same bytes;
 *  - on a map that covers every id, shift to_view then to_disk is the
 *    identity, only ACL_USER/ACL_GROUP ids change, each to its image, and
 *    the return value says whether anything changed;
 *  - on a partial map, to_disk either fails with -EOVERFLOW and leaves the
 *    blob unchanged, or succeeds and to_view brings it back;
 *  - acl_xattr_to_view on a partial map keeps exactly the entries whose
 *    ids map (shifted, sorted) and never shows an unmapped id; writing that
 *    view back with acl_xattr_to_disk over the original gives the original
 *    entries back (when it has a mask; without one, only the mapped ones);
 *  - acl_xattr_sort leaves entries in canonical order, reports whether it
 *    moved any, and is idempotent;
 *  - fcaps: v3 root id round-trips on the full map, v1/v2 never change
 *    under fcaps_xattr_shift; fcaps_xattr_convert shows them as v3 owned
 *    by the image of disk 0 and converts back (see check_fcaps_convert).
 */
#include <errno.h>
#include <linux/posix_acl.h>

#include "acl_xattr.h"
#include "fcaps_xattr.h"
#include "fuzz.h"

#define MAX_ENTRIES 8192

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* Every id maps: rotate the id space by k. */
static void full_map(struct idmap *m, uint32_t k)
{
	idmap_init(m);
	if (k == 0) {
		FUZZ_CHECK(idmap_add(m, 0, 0, UINT32_MAX, NULL) == 0);
		FUZZ_CHECK(idmap_add(m, UINT32_MAX, UINT32_MAX, 1, NULL) == 0);
		return;
	}
	FUZZ_CHECK(idmap_add(m, 0, k, (uint32_t)(FUZZ_ID_SPACE - k), NULL) ==
		   0);
	FUZZ_CHECK(idmap_add(m, (uint32_t)(FUZZ_ID_SPACE - k), 0, k, NULL) ==
		   0);
}

/* A small rootless-like map; the shape depends on k. */
static void partial_map(struct idmap *m, uint32_t k)
{
	idmap_init(m);
	FUZZ_CHECK(idmap_add(m, 0, 1000 + (k & 0xff), 1, NULL) == 0);
	FUZZ_CHECK(idmap_add(m, 1, 100000, 1 + (k >> 16), NULL) == 0);
}

static int cmp_entry(const void *a, const void *b)
{
	const struct acl_xattr_entry *x = a, *y = b;

	if (x->tag != y->tag)
		return x->tag < y->tag ? -1 : 1;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->perm < y->perm ? -1 : x->perm > y->perm;
}

static const struct idmap *named_map(const struct acl_xattr_entry *e,
				     const struct idmaps *m)
{
	if (e->tag == ACL_USER)
		return &m->uid;
	if (e->tag == ACL_GROUP)
		return &m->gid;
	return NULL;
}

/* The hiding view on a partial map, and the write back that keeps. */
static void check_view(const uint8_t *orig, size_t size,
		       const struct acl_xattr_entry *ents, int n,
		       const struct idmaps *part)
{
	static struct acl_xattr_entry want[MAX_ENTRIES], got[MAX_ENTRIES];
	uint8_t *view = malloc(size), *back = malloc(2 * size);
	int i, nw = 0, nv, r, mask = 0;
	uint32_t v;

	if (!view || !back)
		goto out;
	memcpy(view, orig, size);
	r = acl_xattr_to_view(view, size, part);
	FUZZ_CHECK(r >= 4 && (size_t)r <= size && (r - 4) % 8 == 0);
	nv = acl_xattr_decode(view, (size_t)r, got, MAX_ENTRIES);
	for (i = 0; i < n; i++) {
		const struct idmap *map = named_map(&ents[i], part);
		mask |= ents[i].tag == ACL_MASK;
		if (map && idmap_to_view(map, ents[i].id, &v) < 0)
			continue;
		want[nw] = ents[i];
		if (map)
			want[nw].id = v;
		nw++;
	}
	FUZZ_CHECK(nv == nw);
	for (i = 1; i < nv; i++) {
		FUZZ_CHECK(got[i - 1].tag <= got[i].tag);
		if (got[i - 1].tag == got[i].tag && named_map(&got[i], part))
			FUZZ_CHECK(got[i - 1].id <= got[i].id);
	}
	qsort(want, (size_t)nw, sizeof(want[0]), cmp_entry);
	qsort(got, (size_t)nv, sizeof(got[0]), cmp_entry);
	FUZZ_CHECK(memcmp(want, got, sizeof(got[0]) * (size_t)nv) == 0);

	r = acl_xattr_to_disk(view, (size_t)r, orig, size, part, back,
			      2 * size);
	FUZZ_CHECK(r >= 4);
	nv = acl_xattr_decode(back, (size_t)r, got, MAX_ENTRIES);
	if (mask) {
		FUZZ_CHECK(nv == n);
		memcpy(want, ents, sizeof(want[0]) * (size_t)n);
		nw = n;
	} else {
		for (nw = 0, i = 0; i < n; i++) {
			const struct idmap *map = named_map(&ents[i], part);
			if (!map || idmap_to_view(map, ents[i].id, &v) == 0)
				want[nw++] = ents[i];
		}
		FUZZ_CHECK(nv == nw);
	}
	qsort(want, (size_t)nw, sizeof(want[0]), cmp_entry);
	qsort(got, (size_t)nv, sizeof(got[0]), cmp_entry);
	FUZZ_CHECK(memcmp(want, got, sizeof(got[0]) * (size_t)nv) == 0);
out:
	free(view);
	free(back);
}

/*
 * fcaps_xattr_convert on a map that covers every id: v3 keeps its sets and
 * gets the image of its root id, v1/v2 become v3 owned by the image of
 * disk 0 (or stay as they are when that image is 0); back to disk gives the
 * original v3; in place gives the same as out of place.
 */
static void check_fcaps_convert(const uint8_t *in, size_t size,
				const struct idmap *full)
{
	uint8_t out[FCAPS_XATTR_MAX + 1], back[FCAPS_XATTR_MAX + 1];
	uint8_t *inplace;
	uint32_t root = 0, want, got;
	int rev = fcaps_xattr_revision(in, size), n;

	memset(out, 0xAA, sizeof(out));
	n = fcaps_xattr_convert(in, size, out, full, true);
	FUZZ_CHECK(out[FCAPS_XATTR_MAX] == 0xAA);
	if (rev < 0) {
		FUZZ_CHECK(n == -EINVAL);
		return;
	}
	if (rev == 3)
		FUZZ_CHECK(fcaps_xattr_rootid(in, size, &root) == 0);
	FUZZ_CHECK(idmap_to_view(full, root, &want) == 0);
	if (rev != 3 && want == 0) {
		FUZZ_CHECK(n == (int)size && memcmp(out, in, size) == 0);
		return;
	}
	FUZZ_CHECK(n == FCAPS_XATTR_MAX);
	FUZZ_CHECK(fcaps_xattr_revision(out, (size_t)n) == 3);
	FUZZ_CHECK(fcaps_xattr_rootid(out, (size_t)n, &got) == 0 &&
		   got == want);
	FUZZ_CHECK(out[3] == 0x03 && out[0] == in[0] && out[1] == in[1] &&
		   out[2] == in[2]);
	FUZZ_CHECK(memcmp(out + 4, in + 4, (rev == 1 ? 12 : 20) - 4) == 0);
	if (rev == 1)
		FUZZ_CHECK(memcmp(out + 12, "\0\0\0\0\0\0\0\0", 8) == 0);

	memset(back, 0xAA, sizeof(back));
	FUZZ_CHECK(fcaps_xattr_convert(out, (size_t)n, back, full, false) ==
		   FCAPS_XATTR_MAX);
	FUZZ_CHECK(back[FCAPS_XATTR_MAX] == 0xAA);
	FUZZ_CHECK(fcaps_xattr_rootid(back, FCAPS_XATTR_MAX, &got) == 0 &&
		   got == root);
	if (rev == 3)
		FUZZ_CHECK(memcmp(back, in, size) == 0);

	inplace = malloc(FCAPS_XATTR_MAX);
	if (!inplace)
		return;
	memcpy(inplace, in, size);
	FUZZ_CHECK(fcaps_xattr_convert(inplace, size, inplace, full, true) ==
		   n);
	FUZZ_CHECK(memcmp(inplace, out, (size_t)n) == 0);
	free(inplace);
}

static void check_fcaps(uint8_t *buf, const uint8_t *orig, size_t size,
			const struct idmaps *full)
{
	int rev = fcaps_xattr_revision(buf, size);
	uint32_t rootid, shifted;
	int r;

	FUZZ_CHECK(rev == 1 || rev == 2 || rev == 3 || rev == -EINVAL);
	r = fcaps_xattr_shift(buf, size, &full->uid, true);
	if (rev != 3) {
		FUZZ_CHECK(r == (rev < 0 ? rev : 0));
		FUZZ_CHECK(memcmp(buf, orig, size) == 0);
		FUZZ_CHECK(fcaps_xattr_rootid(buf, size, &rootid) == -EINVAL);
		return;
	}
	FUZZ_CHECK(r == 0 || r == 1);
	FUZZ_CHECK(fcaps_xattr_rootid(buf, size, &shifted) == 0);
	FUZZ_CHECK(fcaps_xattr_rootid(orig, size, &rootid) == 0);
	FUZZ_CHECK(r == (shifted != rootid));
	FUZZ_CHECK(idmap_to_disk(&full->uid, shifted, &shifted) == 0 &&
		   shifted == rootid);
	FUZZ_CHECK(fcaps_xattr_shift(buf, size, &full->uid, false) == r);
	FUZZ_CHECK(memcmp(buf, orig, size) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct acl_xattr_entry ents[MAX_ENTRIES], after[MAX_ENTRIES];
	static struct idmaps full, part;
	uint8_t *buf, *copy;
	size_t bsize;
	int n, r, i, changed = 0;

	if (size < 8 || size > 8 + 8 + 8 * MAX_ENTRIES)
		return 0;
	full_map(&full.uid, get32(data));
	full_map(&full.gid, get32(data + 4) ^ 0x5a5a5a5a);
	full.overflow_uid = full.overflow_gid = 65534;
	partial_map(&part.uid, get32(data));
	partial_map(&part.gid, get32(data + 4));
	part.overflow_uid = 65534;
	part.overflow_gid = 65533;

	bsize = size - 8;
	buf = malloc(bsize ? bsize : 1);
	copy = malloc(bsize ? bsize : 1);
	if (!buf || !copy)
		goto out;
	memcpy(buf, data + 8, bsize);
	memcpy(copy, data + 8, bsize);

	check_fcaps(buf, copy, bsize, &full);
	check_fcaps_convert(copy, bsize, &full.uid);

	n = acl_xattr_count(buf, bsize);
	FUZZ_CHECK(n >= -EINVAL);
	if (n < 0) {
		FUZZ_CHECK(n == -EINVAL);
		FUZZ_CHECK(acl_xattr_decode(buf, bsize, ents, MAX_ENTRIES) ==
			   -EINVAL);
		FUZZ_CHECK(acl_xattr_shift(buf, bsize, &full, true) == -EINVAL);
		FUZZ_CHECK(acl_xattr_to_view(buf, bsize, &part) == -EINVAL);
		FUZZ_CHECK(acl_xattr_shift(buf, bsize, &part, false) ==
			   -EINVAL);
		FUZZ_CHECK(memcmp(buf, copy, bsize) == 0);
		goto out;
	}
	FUZZ_CHECK(acl_xattr_decode(buf, bsize, ents, MAX_ENTRIES) == n);
	if (n > 0)
		FUZZ_CHECK(acl_xattr_decode(buf, bsize, ents, (size_t)n - 1) ==
			   -ERANGE);
	{
		uint8_t *enc = malloc(bsize);
		FUZZ_CHECK(acl_xattr_encode(ents, (size_t)n, NULL, 0) == bsize);
		if (enc) {
			FUZZ_CHECK(acl_xattr_encode(ents, (size_t)n, enc,
						    bsize) == bsize);
			FUZZ_CHECK(memcmp(enc, buf, bsize) == 0);
			free(enc);
		}
	}

	/* Full map: to_view shifts exactly the qualified entries. */
	r = acl_xattr_shift(buf, bsize, &full, true);
	FUZZ_CHECK(r == 0 || r == 1);
	FUZZ_CHECK(acl_xattr_decode(buf, bsize, after, MAX_ENTRIES) == n);
	for (i = 0; i < n; i++) {
		uint32_t want = ents[i].id;
		if (ents[i].tag == ACL_USER)
			FUZZ_CHECK(idmap_to_view(&full.uid, ents[i].id,
						 &want) == 0);
		else if (ents[i].tag == ACL_GROUP)
			FUZZ_CHECK(idmap_to_view(&full.gid, ents[i].id,
						 &want) == 0);
		FUZZ_CHECK(after[i].tag == ents[i].tag);
		FUZZ_CHECK(after[i].perm == ents[i].perm);
		FUZZ_CHECK(after[i].id == want);
		changed |= want != ents[i].id;
	}
	FUZZ_CHECK(r == changed);
	FUZZ_CHECK(acl_xattr_shift(buf, bsize, &full, false) == r);
	FUZZ_CHECK(memcmp(buf, copy, bsize) == 0);

	/* Partial map, view -> disk: all or nothing. */
	r = acl_xattr_shift(buf, bsize, &part, false);
	FUZZ_CHECK(r == 0 || r == 1 || r == -EOVERFLOW);
	if (r == -EOVERFLOW) {
		FUZZ_CHECK(memcmp(buf, copy, bsize) == 0);
	} else {
		FUZZ_CHECK(acl_xattr_shift(buf, bsize, &part, true) == r);
		FUZZ_CHECK(memcmp(buf, copy, bsize) == 0);
	}

	/* Partial map, disk -> view: unmapped entries hidden, kept on write. */
	check_view(copy, bsize, ents, n, &part);
	/* Sorting: canonical order, same entries, idempotent. */
	memcpy(buf, copy, bsize);
	r = acl_xattr_sort(buf, bsize);
	FUZZ_CHECK(r == 0 || r == 1);
	FUZZ_CHECK(acl_xattr_decode(buf, bsize, after, MAX_ENTRIES) == n);
	for (i = 1; i < n; i++) {
		FUZZ_CHECK(after[i - 1].tag <= after[i].tag);
		if (after[i - 1].tag == after[i].tag &&
		    (after[i].tag == ACL_USER || after[i].tag == ACL_GROUP))
			FUZZ_CHECK(after[i - 1].id <= after[i].id);
	}
	FUZZ_CHECK((r == 0) == (memcmp(buf, copy, bsize) == 0));
	FUZZ_CHECK(acl_xattr_sort(buf, bsize) == 0);
out:
	free(buf);
	free(copy);
	return 0;
}
