/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz subid_parse(). The first byte picks who is looked up (a name, a
 * numeric uid, or both), the rest is the /etc/subuid text. Properties:
 * every returned range has count >= 1 and ends at or before 2^32; the
 * result does not depend on anything but the input (a second parse is
 * equal); "no entry" is reported with exactly "no entry for user NAME in
 * FILE"; a malformed line is reported as "FILE:LINE: ..."; the ranges,
 * laid out from disk id 1 as the rootless layout does, form a valid map.
 */
#include <errno.h>

#include "fuzz.h"
#include "subid.h"

#define FILE_NAME "fuzz_subid"

static const char *const names[4] = {"alice", "root", "1000", "dockremap"};
static const uint32_t ids[4] = {1000, 0, 4294967295u, 100000};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct subid_ranges out, again;
	static struct idmap m;
	struct shift_diag d = {{0}}, d2 = {{0}};
	const char *text, *name;
	char expect[200];
	uint64_t disk = 1;
	bool has_id;
	uint32_t id, i;
	size_t len;
	int r;

	if (size < 1 || size > 65536)
		return 0;
	/* bits 0-1: name, bit 2: no name, bit 3: has_id, bits 4-5: id */
	name = data[0] & 4 ? NULL : names[data[0] & 3];
	has_id = (data[0] & 8) || !name;
	id = ids[(data[0] >> 4) & 3];
	text = (const char *)data + 1;
	len = size - 1;

	r = subid_parse(text, len, FILE_NAME, name, has_id, id, &out, &d);
	FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ERANGE || r == -E2BIG ||
		   r == -ENOENT);
	FUZZ_CHECK(subid_parse(text, len, FILE_NAME, name, has_id, id, &again,
			       &d2) == r);
	FUZZ_CHECK(strcmp(d.msg, d2.msg) == 0);
	if (r == -ENOENT) {
		FUZZ_CHECK(out.n == 0);
		if (name)
			snprintf(expect, sizeof(expect),
				 "no entry for user %s in %s", name, FILE_NAME);
		else
			snprintf(expect, sizeof(expect),
				 "no entry for uid %u in %s", id, FILE_NAME);
		FUZZ_CHECK(strcmp(d.msg, expect) == 0);
		return 0;
	}
	if (r < 0) {
		FUZZ_CHECK(strncmp(d.msg, FILE_NAME ":",
				   strlen(FILE_NAME) + 1) == 0);
		return 0;
	}
	FUZZ_CHECK(out.n >= 1 && out.n <= IDMAP_MAX_RANGES);
	FUZZ_CHECK(again.n == out.n &&
		   memcmp(again.r, out.r, sizeof(out.r[0]) * out.n) == 0);
	for (i = 0; i < out.n; i++) {
		FUZZ_CHECK(out.r[i].count >= 1);
		FUZZ_CHECK((uint64_t)out.r[i].start + out.r[i].count <=
			   FUZZ_ID_SPACE);
	}

	/* As layout.c lays them out for rootless: disk 1, 2, ... in order.
	 * Overlapping subordinate ranges are refused, never mapped twice. */
	idmap_init(&m);
	for (i = 0; i < out.n && disk <= UINT32_MAX; i++) {
		uint64_t count = out.r[i].count;
		if (disk + count > FUZZ_ID_SPACE)
			count = FUZZ_ID_SPACE - disk;
		if (idmap_add(&m, (uint32_t)disk, out.r[i].start,
			      (uint32_t)count, &d) < 0)
			break;
		disk += count;
	}
	fuzz_check_map(&m);
	return 0;
}
