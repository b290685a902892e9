/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Subordinate id files; see subid.h. */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "idmap_parse.h"
#include "parse_int.h"
#include "subid.h"

static bool owner_matches(const char *tok, size_t len, const char *name,
			  bool has_id, uint32_t id)
{
	uint32_t v;

	if (name && strlen(name) == len && memcmp(tok, name, len) == 0)
		return true;
	return has_id && parse_u32_n(tok, len, 0, UINT32_MAX, &v) == 0 &&
	       v == id;
}

static int parse_line(const char *p, const char *eol, const char *where,
		      const char **owner, size_t *owner_len,
		      struct subid_range *out, struct shift_diag *d)
{
	const char *c1 = memchr(p, ':', (size_t)(eol - p));
	const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(eol - c1 - 1)) : NULL;
	uint32_t start, count;
	int r;

	if (!c1 || !c2 || c1 == p)
		return shift_diag_set(d, EINVAL,
				      "%s: expected OWNER:START:COUNT, got \"%.*s\"",
				      where, (int)(eol - p > 60 ? 60 : eol - p), p);
	r = parse_u32_n(c1 + 1, (size_t)(c2 - c1 - 1), 0, UINT32_MAX, &start);
	if (r < 0)
		return shift_diag_set(d, r == -ERANGE ? ERANGE : EINVAL,
				      "%s: start \"%.*s\": %s", where,
				      (int)(c2 - c1 - 1 > 40 ? 40 : c2 - c1 - 1),
				      c1 + 1, parse_u32_reason(r));
	/* shadow caps a count at maxof(id_t) + 1 - start. */
	r = parse_u32_n(c2 + 1, (size_t)(eol - c2 - 1), 1, UINT32_MAX, &count);
	if (r == 0 && (uint64_t)start + count > (uint64_t)UINT32_MAX + 1)
		r = -ERANGE;
	if (r < 0)
		return shift_diag_set(d, r == -ERANGE ? ERANGE : EINVAL,
				      "%s: count \"%.*s\": %s", where,
				      (int)(eol - c2 - 1 > 40 ? 40 : eol - c2 - 1),
				      c2 + 1,
				      r == -ERANGE ? "zero, or past id 4294967295"
						   : parse_u32_reason(r));
	*owner = p;
	*owner_len = (size_t)(c1 - p);
	*out = (struct subid_range){start, count};
	return 0;
}

int subid_parse(const char *text, size_t len, const char *file,
		const char *name, bool has_id, uint32_t id,
		struct subid_ranges *out, struct shift_diag *d)
{
	const char *p = text, *end = text + len;
	unsigned int line = 0;
	char where[160];

	out->n = 0;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *owner = NULL, *s;
		struct subid_range rg;
		size_t owner_len = 0;
		int r;

		if (!eol)
			eol = end;
		line++;
		for (s = p; s < eol && (*s == ' ' || *s == '\t'); s++)
			;
		if (s == eol || *s == '#') {
			p = eol + 1;
			continue;
		}
		snprintf(where, sizeof(where), "%s:%u", file, line);
		r = parse_line(p, eol, where, &owner, &owner_len, &rg, d);
		if (r < 0)
			return r;
		if (owner_matches(owner, owner_len, name, has_id, id)) {
			if (out->n >= IDMAP_MAX_RANGES)
				return shift_diag_set(d, E2BIG,
						      "%s: more than %d ranges",
						      where, IDMAP_MAX_RANGES);
			out->r[out->n++] = rg;
		}
		p = eol + 1;
	}
	if (out->n == 0) {
		if (name)
			return shift_diag_set(d, ENOENT,
					      "no entry for user %s in %s",
					      name, file);
		return shift_diag_set(d, ENOENT, "no entry for uid %u in %s",
				      id, file);
	}
	return 0;
}

int subid_read(const char *path, const char *name, bool has_id, uint32_t id,
	       struct subid_ranges *out, struct shift_diag *d)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r;

	r = read_small_file(path, &text, &len);
	if (r < 0)
		return shift_diag_set(d, -r, "%s: %s", path, strerror(-r));
	return subid_parse(text, len, path, name, has_id, id, out, d);
}

bool subid_ranges_have(const struct subid_ranges *set, uint32_t id)
{
	uint32_t i;

	for (i = 0; i < set->n; i++)
		if (id >= set->r[i].start &&
		    id - set->r[i].start < set->r[i].count)
			return true;
	return false;
}

int subid_own(const char *path, const char *name, uint32_t id, uint32_t own,
	      struct subid_ranges *out, struct shift_diag *d)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	uint32_t i;
	int r;

	r = read_small_file(path, &text, &len);
	if (r == -ENOENT) {
		out->n = 0;
	} else if (r < 0) {
		return shift_diag_set(d, -r, "%s: %s", path, strerror(-r));
	} else {
		r = subid_parse(text, len, path, name, true, id, out, d);
		if (r == -ENOENT)
			out->n = 0;
		else if (r < 0)
			return r;
	}
	if (out->n == IDMAP_MAX_RANGES)
		return shift_diag_set(d, E2BIG, "%s: more than %d ranges",
				      path, IDMAP_MAX_RANGES - 1);
	/* own first, the ranges after it in file order */
	for (i = out->n; i > 0; i--)
		out->r[i] = out->r[i - 1];
	out->r[0] = (struct subid_range){own, 1};
	out->n++;
	return 0;
}

bool subid_ranges_cover(const struct subid_ranges *set, uint32_t start,
			uint32_t count, uint32_t *missing)
{
	uint64_t cur = start, end = (uint64_t)start + count;
	uint32_t i;
	bool moved = true;

	while (cur < end && moved) {
		moved = false;
		for (i = 0; i < set->n; i++) {
			uint64_t s = set->r[i].start;
			uint64_t e = s + set->r[i].count;

			if (cur >= s && cur < e) {
				cur = e;
				moved = true;
			}
		}
	}
	if (cur < end && missing)
		*missing = (uint32_t)cur;
	return cur >= end;
}

static int held_add(struct subid_ranges *out, uint32_t start, uint32_t count)
{
	if (out->n == IDMAP_MAX_RANGES)
		return -E2BIG;
	out->r[out->n].start = start;
	out->r[out->n++].count = count;
	return 0;
}

/* Does [start, start + count) meet one of the first n ranges of set? */
static bool held_meets(const struct subid_ranges *set, uint32_t n,
		       uint32_t start, uint32_t count)
{
	uint64_t end = (uint64_t)start + count;
	uint32_t i;

	for (i = 0; i < n; i++)
		if (start < (uint64_t)set->r[i].start + set->r[i].count &&
		    set->r[i].start < end)
			return true;
	return false;
}

/* Add the user's own id and ranges if any of them meets the view ids. */
static int held_user(const struct passwd *pw, const char *text, size_t len,
		     const char *path, bool gids, uint32_t nview,
		     struct subid_ranges *out)
{
	struct subid_ranges mine;
	struct shift_diag ignored = {""};
	uint32_t id = gids ? pw->pw_gid : pw->pw_uid, i;
	bool meets;
	int r;

	if (subid_parse(text, len, path, pw->pw_name, true, pw->pw_uid, &mine,
			&ignored) < 0)
		mine.n = 0; /* no entry (or a bad line): only the own id */
	meets = held_meets(out, nview, id, 1);
	for (i = 0; !meets && i < mine.n; i++)
		meets = held_meets(out, nview, mine.r[i].start,
				   mine.r[i].count);
	if (!meets)
		return 0;
	r = held_add(out, id, 1);
	for (i = 0; !r && i < mine.n; i++)
		r = held_add(out, mine.r[i].start, mine.r[i].count);
	return r;
}

int subid_held(const char *path, const struct idmap *map, bool gids,
	       struct subid_ranges *out, struct shift_diag *d)
{
	_cleanup_free_ char *text = NULL;
	struct passwd *pw;
	uint32_t i, nview;
	size_t len = 0;
	int r;

	out->n = 0;
	for (i = 0; i < map->n; i++)
		if (held_add(out, map->r[i].view, map->r[i].count) < 0)
			return -E2BIG;
	nview = out->n;
	r = read_small_file(path, &text, &len);
	if (r == -ENOENT)
		return 0; /* no subordinate ids on this system */
	if (r < 0)
		return shift_diag_set(d, -r, "%s: %s", path, strerror(-r));
	r = 0;
	setpwent();
	while (!r && (pw = getpwent()))
		r = held_user(pw, text, len, path, gids, nview, out);
	endpwent();
	return r;
}
