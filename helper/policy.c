/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The helper's policy file parser; see policy.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "parse_int.h"
#include "policy.h"

void policy_defaults(struct helper_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->allow = POLICY_ALL;
	p->max_mounts = POLICY_DEFAULT_MOUNTS;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* [*s, *e) with blanks trimmed off both ends. */
static void trim(const char **s, const char **e)
{
	while (*s < *e && is_blank(**s))
		(*s)++;
	while (*e > *s && is_blank((*e)[-1]))
		(*e)--;
}

static bool word_is(const char *s, size_t n, const char *w)
{
	return strlen(w) == n && !memcmp(s, w, n);
}

/* One "KEY = VALUE" line (trimmed, not a comment). */
static int parse_kv(const char *k, const char *end, const char *where,
		    struct helper_policy *p, struct shift_diag *d)
{
	const char *eq = memchr(k, '=', (size_t)(end - k));
	const char *ke, *v, *ve = end;
	uint32_t n;
	size_t vl;

	if (!eq)
		return shift_diag_set(d, EINVAL, "%s: expected KEY = VALUE",
				      where);
	ke = eq;
	v = eq + 1;
	trim(&k, &ke);
	trim(&v, &ve);
	vl = (size_t)(ve - v);
	if (word_is(k, (size_t)(ke - k), "allow")) {
		if (word_is(v, vl, "all"))
			p->allow = POLICY_ALL;
		else if (word_is(v, vl, "subuid"))
			p->allow = POLICY_SUBUID;
		else if (word_is(v, vl, "group"))
			p->allow = POLICY_GROUP;
		else if (word_is(v, vl, "none"))
			p->allow = POLICY_NONE;
		else
			return shift_diag_set(d, EINVAL,
					      "%s: allow is all, subuid, group "
					      "or none",
					      where);
		return 0;
	}
	if (word_is(k, (size_t)(ke - k), "allow-group")) {
		if (vl == 0 || vl >= POLICY_NAME_MAX ||
		    memchr(v, ' ', vl) || memchr(v, '\t', vl))
			return shift_diag_set(d, EINVAL,
					      "%s: allow-group needs one group "
					      "name",
					      where);
		if (p->ngroups == POLICY_GROUPS_MAX)
			return shift_diag_set(d, EINVAL,
					      "%s: more than %d allow-group "
					      "lines",
					      where, POLICY_GROUPS_MAX);
		memcpy(p->groups[p->ngroups], v, vl);
		p->groups[p->ngroups++][vl] = '\0';
		return 0;
	}
	if (word_is(k, (size_t)(ke - k), "max-mounts")) {
		int r = parse_u32_n(v, vl, 0, POLICY_MOUNTS_MAX, &n);

		if (r < 0)
			return shift_diag_set(d, EINVAL,
					      "%s: max-mounts: %s (0 to %d)",
					      where, parse_u32_reason(r),
					      POLICY_MOUNTS_MAX);
		p->max_mounts = n;
		return 0;
	}
	return shift_diag_set(d, EINVAL, "%s: unknown key \"%.*s\"", where,
			      (int)((ke - k) > 40 ? 40 : ke - k), k);
}

int policy_parse(const char *text, size_t len, const char *file,
		 struct helper_policy *p, struct shift_diag *d)
{
	const char *s = text, *end = text + len;
	unsigned int line = 0;
	char where[160];

	if (memchr(text, '\0', len))
		return shift_diag_set(d, EINVAL, "%s: a NUL byte", file);
	while (s < end) {
		const char *eol = memchr(s, '\n', (size_t)(end - s));
		const char *ls = s, *le;
		int r;

		if (!eol)
			eol = end;
		le = eol;
		line++;
		s = eol + 1;
		trim(&ls, &le);
		if (ls == le || *ls == '#')
			continue;
		snprintf(where, sizeof(where), "%s:%u", file, line);
		r = parse_kv(ls, le, where, p, d);
		if (r < 0)
			return r;
	}
	return 0;
}
