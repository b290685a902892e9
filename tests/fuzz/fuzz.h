/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shared by the fuzz targets: the libFuzzer entry point's prototype, a
 * property check that aborts (so libFuzzer and the corpus replay both see a
 * crash), and the id map properties every target asserts on a map that a
 * parser accepted.
 */
#ifndef SHIFT_FUZZ_H
#define SHIFT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: property failed: %s\n",        \
				__FILE__, __LINE__, #cond);                    \
			abort();                                               \
		}                                                              \
	} while (0)

#define FUZZ_ID_SPACE ((uint64_t)UINT32_MAX + 1)

/* Same ranges in the same order. */
static inline int fuzz_map_equal(const struct idmap *a, const struct idmap *b)
{
	return a->n == b->n && memcmp(a->r, b->r, sizeof(a->r[0]) * a->n) == 0;
}

/* id maps both ways through m and back, or is unmapped on the disk side. */
static inline void fuzz_check_disk_id(const struct idmap *m, uint64_t id)
{
	uint32_t view, back;

	if (id > UINT32_MAX)
		return;
	if (idmap_to_view(m, (uint32_t)id, &view) < 0)
		return;
	FUZZ_CHECK(idmap_to_disk(m, view, &back) == 0);
	FUZZ_CHECK(back == (uint32_t)id);
}

static inline void fuzz_check_view_id(const struct idmap *m, uint64_t id)
{
	uint32_t disk, back;

	if (id > UINT32_MAX)
		return;
	if (idmap_to_disk(m, (uint32_t)id, &disk) < 0)
		return;
	FUZZ_CHECK(idmap_to_view(m, disk, &back) == 0);
	FUZZ_CHECK(back == (uint32_t)id);
}

/*
 * The invariants idmap_add() promises, and lookups at every range's edges:
 * first, last and the ids just outside, in both directions, plus invert.
 */
static inline void fuzz_check_map(const struct idmap *m)
{
	uint64_t total = 0;
	bool identity = true;
	uint32_t i, j, out;

	FUZZ_CHECK(m->n <= IDMAP_MAX_RANGES);
	for (i = 0; i < m->n; i++) {
		const struct idmap_range *r = &m->r[i];
		uint64_t last = (uint64_t)r->count - 1;

		FUZZ_CHECK(r->count >= 1);
		FUZZ_CHECK((uint64_t)r->disk + r->count <= FUZZ_ID_SPACE);
		FUZZ_CHECK((uint64_t)r->view + r->count <= FUZZ_ID_SPACE);
		for (j = 0; j < i; j++) {
			const struct idmap_range *q = &m->r[j];
			FUZZ_CHECK((uint64_t)r->disk + r->count <= q->disk ||
				   (uint64_t)q->disk + q->count <= r->disk);
			FUZZ_CHECK((uint64_t)r->view + r->count <= q->view ||
				   (uint64_t)q->view + q->count <= r->view);
		}
		FUZZ_CHECK(idmap_to_view(m, r->disk, &out) == 0 &&
			   out == r->view);
		FUZZ_CHECK(idmap_to_view(m, (uint32_t)(r->disk + last), &out) ==
				   0 &&
			   out == (uint32_t)(r->view + last));
		FUZZ_CHECK(idmap_to_disk(m, r->view, &out) == 0 &&
			   out == r->disk);
		FUZZ_CHECK(idmap_to_disk(m, (uint32_t)(r->view + last), &out) ==
				   0 &&
			   out == (uint32_t)(r->disk + last));
		if (r->disk > 0)
			fuzz_check_disk_id(m, (uint64_t)r->disk - 1);
		fuzz_check_disk_id(m, (uint64_t)r->disk + r->count);
		fuzz_check_disk_id(m, (uint64_t)r->disk + r->count / 2);
		if (r->view > 0)
			fuzz_check_view_id(m, (uint64_t)r->view - 1);
		fuzz_check_view_id(m, (uint64_t)r->view + r->count);
		total += r->count;
		if (r->disk != r->view)
			identity = false;
	}
	FUZZ_CHECK(idmap_size(m) == total);
	FUZZ_CHECK(idmap_is_identity(m) == (m->n > 0 && identity));

	/* Inverting swaps the directions; inverting twice restores m. */
	static struct idmap inv;
	memcpy(&inv, m, sizeof(inv));
	idmap_invert(&inv);
	for (i = 0; i < inv.n; i++) {
		const struct idmap_range *r = &m->r[i];
		uint32_t last = r->count - 1;
		FUZZ_CHECK(idmap_to_view(&inv, r->view + last, &out) == 0 &&
			   out == r->disk + last);
		FUZZ_CHECK(idmap_to_disk(&inv, r->disk, &out) == 0 &&
			   out == r->view);
	}
	idmap_invert(&inv);
	FUZZ_CHECK(fuzz_map_equal(&inv, m));
	for (i = 0; i < m->n; i++)
		FUZZ_CHECK(idmap_to_view(&inv, m->r[i].disk, &out) == 0 &&
			   out == m->r[i].view);
}

#endif
