/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Id map construction and lookup. Validation happens once, in idmap_add();
 * lookups are a binary search over a sorted index and never overflow
 * (id - start < count, never id < start + count).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "idmap.h"
#include "parse_int.h"

#define ID_SPACE ((uint64_t)UINT32_MAX + 1)

void idmap_init(struct idmap *m)
{
	m->n = 0;
}

static uint32_t read_overflow(const char *path)
{
	char buf[32];
	ssize_t len;
	uint32_t v;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return IDMAP_DEFAULT_OVERFLOW;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return IDMAP_DEFAULT_OVERFLOW;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		len--;
	if (parse_u32_n(buf, (size_t)len, 0, UINT32_MAX - 1, &v) < 0)
		return IDMAP_DEFAULT_OVERFLOW;
	return v;
}

void idmaps_init(struct idmaps *m)
{
	idmap_init(&m->uid);
	idmap_init(&m->gid);
	m->overflow_uid = read_overflow("/proc/sys/kernel/overflowuid");
	m->overflow_gid = read_overflow("/proc/sys/kernel/overflowgid");
}

static bool overlaps(uint32_t a, uint32_t alen, uint32_t b, uint32_t blen)
{
	return (uint64_t)a < (uint64_t)b + blen &&
	       (uint64_t)b < (uint64_t)a + alen;
}

/* Insert index idx into a sorted index, keyed by disk or by view. */
static void index_insert(const struct idmap *m, uint16_t *index, uint16_t idx,
			 bool by_view)
{
	uint32_t key = by_view ? m->r[idx].view : m->r[idx].disk;
	uint32_t i = m->n;

	while (i > 0) {
		const struct idmap_range *p = &m->r[index[i - 1]];
		if ((by_view ? p->view : p->disk) < key)
			break;
		index[i] = index[i - 1];
		i--;
	}
	index[i] = idx;
}

int idmap_add(struct idmap *m, uint32_t disk, uint32_t view, uint32_t count,
	      struct shift_diag *d)
{
	uint32_t i;

	if (count == 0)
		return shift_diag_set(d, EINVAL, "range %u:%u:%u has count 0",
				      disk, view, count);
	if ((uint64_t)disk + count > ID_SPACE ||
	    (uint64_t)view + count > ID_SPACE)
		return shift_diag_set(d, ERANGE,
				      "range %u:%u:%u runs past id 4294967295",
				      disk, view, count);
	if (m->n >= IDMAP_MAX_RANGES)
		return shift_diag_set(d, E2BIG, "more than %d ranges",
				      IDMAP_MAX_RANGES);
	for (i = 0; i < m->n; i++) {
		const struct idmap_range *r = &m->r[i];
		if (overlaps(disk, count, r->disk, r->count))
			return shift_diag_set(
				d, EINVAL,
				"range %u:%u:%u overlaps range %u:%u:%u on the disk side",
				disk, view, count, r->disk, r->view, r->count);
		if (overlaps(view, count, r->view, r->count))
			return shift_diag_set(
				d, EINVAL,
				"range %u:%u:%u overlaps range %u:%u:%u on the view side",
				disk, view, count, r->disk, r->view, r->count);
	}
	m->r[m->n] = (struct idmap_range){disk, view, count};
	index_insert(m, m->by_disk, (uint16_t)m->n, false);
	index_insert(m, m->by_view, (uint16_t)m->n, true);
	m->n++;
	return 0;
}

/* Find the range whose start is the greatest <= id, then check it covers id. */
static int lookup(const struct idmap *m, const uint16_t *index, bool from_view,
		  uint32_t id, uint32_t *out)
{
	uint32_t lo = 0, hi = m->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		const struct idmap_range *r = &m->r[index[mid]];
		if ((from_view ? r->view : r->disk) <= id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return -EOVERFLOW;
	const struct idmap_range *r = &m->r[index[lo - 1]];
	uint32_t from = from_view ? r->view : r->disk;
	uint32_t to = from_view ? r->disk : r->view;
	if (id - from >= r->count)
		return -EOVERFLOW;
	*out = to + (id - from);
	return 0;
}

int idmap_to_view(const struct idmap *m, uint32_t disk, uint32_t *view)
{
	return lookup(m, m->by_disk, false, disk, view);
}

int idmap_to_disk(const struct idmap *m, uint32_t view, uint32_t *disk)
{
	return lookup(m, m->by_view, true, view, disk);
}

int idmap_translate(const struct idmap *m, bool to_view, uint32_t in,
		    uint32_t *out)
{
	return to_view ? idmap_to_view(m, in, out) : idmap_to_disk(m, in, out);
}

uint32_t idmaps_uid_to_view(const struct idmaps *m, uint32_t disk)
{
	uint32_t view;

	return idmap_to_view(&m->uid, disk, &view) == 0 ? view
							: m->overflow_uid;
}

uint32_t idmaps_gid_to_view(const struct idmaps *m, uint32_t disk)
{
	uint32_t view;

	return idmap_to_view(&m->gid, disk, &view) == 0 ? view
							: m->overflow_gid;
}

bool idmap_is_identity(const struct idmap *m)
{
	uint32_t i;

	if (m->n == 0)
		return false;
	for (i = 0; i < m->n; i++)
		if (m->r[i].disk != m->r[i].view)
			return false;
	return true;
}

void idmap_invert(struct idmap *m)
{
	uint16_t tmp[IDMAP_MAX_RANGES];
	uint32_t i;

	for (i = 0; i < m->n; i++) {
		uint32_t t = m->r[i].disk;
		m->r[i].disk = m->r[i].view;
		m->r[i].view = t;
	}
	memcpy(tmp, m->by_disk, sizeof(tmp[0]) * m->n);
	memcpy(m->by_disk, m->by_view, sizeof(tmp[0]) * m->n);
	memcpy(m->by_view, tmp, sizeof(tmp[0]) * m->n);
}

uint64_t idmap_size(const struct idmap *m)
{
	uint64_t total = 0;
	uint32_t i;

	for (i = 0; i < m->n; i++)
		total += m->r[i].count;
	return total;
}

/* sep ',' or ':': "D:V:C<sep>D:V:C"; sep '\n': "D V C\n" lines. */
static size_t format_ranges(const struct idmap *m, char *buf, size_t len,
			    char sep)
{
	size_t used = 0;
	uint32_t i;

	if (len)
		buf[0] = '\0';
	for (i = 0; i < m->n; i++) {
		const struct idmap_range *r = &m->r[i];
		char *at = used < len ? buf + used : NULL;
		size_t room = used < len ? len - used : 0;
		int w;

		if (sep != '\n')
			w = snprintf(at, room, "%.*s%u:%u:%u", i ? 1 : 0,
				     &sep, r->disk, r->view, r->count);
		else
			w = snprintf(at, room, "%u %u %u\n", r->disk, r->view,
				     r->count);
		if (w > 0)
			used += (size_t)w;
	}
	return used;
}

size_t idmap_format(const struct idmap *m, char *buf, size_t len)
{
	return format_ranges(m, buf, len, '\n');
}

size_t idmap_format_spec(const struct idmap *m, char *buf, size_t len)
{
	return format_ranges(m, buf, len, ',');
}

size_t idmap_format_opt(const struct idmap *m, char *buf, size_t len)
{
	return format_ranges(m, buf, len, ':');
}
