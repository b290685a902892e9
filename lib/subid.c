/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Subordinate id files; see subid.h. */
#include <errno.h>
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
