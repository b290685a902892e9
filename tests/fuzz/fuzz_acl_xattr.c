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
 *    blob unchanged, or succeeds and to_view brings it back; to_view shows
 *    unmapped ids as the overflow id;
 *  - fcaps: v3 root id round-trips on the full map, v1/v2 never change.
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

	n = acl_xattr_count(buf, bsize);
	FUZZ_CHECK(n >= -EINVAL);
	if (n < 0) {
		FUZZ_CHECK(n == -EINVAL);
		FUZZ_CHECK(acl_xattr_decode(buf, bsize, ents, MAX_ENTRIES) ==
			   -EINVAL);
		FUZZ_CHECK(acl_xattr_shift(buf, bsize, &full, true) == -EINVAL);
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

	/* Partial map, disk -> view: unmapped ids show as overflow. */
	r = acl_xattr_shift(buf, bsize, &part, true);
	FUZZ_CHECK(r == 0 || r == 1);
	FUZZ_CHECK(acl_xattr_decode(buf, bsize, after, MAX_ENTRIES) == n);
	for (i = 0; i < n; i++) {
		const struct idmap *map =
			ents[i].tag == ACL_USER ? &part.uid : &part.gid;
		uint32_t ov = ents[i].tag == ACL_USER ? 65534 : 65533;
		uint32_t want = ents[i].id;
		if ((ents[i].tag == ACL_USER || ents[i].tag == ACL_GROUP) &&
		    idmap_to_view(map, ents[i].id, &want) < 0)
			want = ov;
		FUZZ_CHECK(after[i].id == want);
	}
out:
	free(buf);
	free(copy);
	return 0;
}
