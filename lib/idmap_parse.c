/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Text forms of id maps; see idmap_parse.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "idmap_parse.h"
#include "parse_int.h"

#define SMALL_FILE_MAX (1 << 20)

/* Parse one number of a range; field is "disk", "view" or "count". */
static int parse_field(const char *s, size_t len, const char *field,
		       const char *where, struct shift_diag *d, uint32_t *out)
{
	int r = parse_u32_n(s, len, 0, UINT32_MAX, out);

	if (r < 0)
		return shift_diag_set(d, r == -ERANGE ? ERANGE : EINVAL,
				      "%s: %s \"%.*s\": %s", where, field,
				      (int)(len > 40 ? 40 : len), s,
				      parse_u32_reason(r));
	return 0;
}

static int add_range(struct idmap *m, const char *fields[3],
		     const size_t lens[3], const char *where,
		     struct shift_diag *d)
{
	static const char *const names[3] = {"disk id", "view id", "count"};
	uint32_t v[3];
	int i, r;

	for (i = 0; i < 3; i++) {
		r = parse_field(fields[i], lens[i], names[i], where, d, &v[i]);
		if (r < 0)
			return r;
	}
	r = idmap_add(m, v[0], v[1], v[2], d);
	if (r < 0)
		shift_diag_prefix(d, "%s", where);
	return r;
}

int idmap_parse_spec(struct idmap *m, const char *spec, struct shift_diag *d)
{
	const char *fields[3], *p = spec;
	unsigned int n = 0;
	size_t lens[3];
	char where[48];
	int nf = 0, r;

	if (*spec == '\0')
		return shift_diag_set(d, EINVAL, "empty id map");
	/*
	 * Fields are separated by ':'; ranges by ',' or, as in
	 * fuse-overlayfs's uidmapping=, by ':' too (inside mount -o, a comma
	 * would end the option). A ',' may only follow a COUNT.
	 */
	for (;;) {
		size_t len = strcspn(p, ":,");
		char sep = p[len];

		if (nf == 0)
			snprintf(where, sizeof(where), "range %u", ++n);
		fields[nf] = p;
		lens[nf++] = len;
		if (sep == ',' && nf != 3)
			return shift_diag_set(d, EINVAL,
					      "%s: expected DISK:VIEW:COUNT before ','",
					      where);
		if (sep == '\0' && nf != 3)
			return shift_diag_set(d, EINVAL,
					      "%s: expected DISK:VIEW:COUNT, got %d field%s",
					      where, nf, nf == 1 ? "" : "s");
		if (nf == 3) {
			r = add_range(m, fields, lens, where, d);
			if (r < 0)
				return r;
			nf = 0;
		}
		if (sep == '\0')
			return 0;
		p += len + 1;
	}
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

int idmap_parse_proc(struct idmap *m, const char *text, size_t len,
		     const char *name, struct shift_diag *d)
{
	const char *p = text, *end = text + len;
	unsigned int line = 0;
	char where[96];

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *fields[3];
		size_t lens[3];
		int nf = 0, r;

		if (!eol)
			eol = end;
		line++;
		snprintf(where, sizeof(where), "%s:%u", name, line);
		while (p < eol) {
			const char *tok;
			while (p < eol && is_blank(*p))
				p++;
			if (p == eol)
				break;
			tok = p;
			while (p < eol && !is_blank(*p))
				p++;
			if (nf == 3)
				return shift_diag_set(
					d, EINVAL,
					"%s: unexpected \"%.*s\" after three fields",
					where, (int)(p - tok > 40 ? 40 : p - tok),
					tok);
			fields[nf] = tok;
			lens[nf++] = (size_t)(p - tok);
		}
		if (nf != 0 && nf != 3)
			return shift_diag_set(
				d, EINVAL, "%s: expected \"INSIDE OUTSIDE COUNT\"",
				where);
		if (nf == 3) {
			r = add_range(m, fields, lens, where, d);
			if (r < 0)
				return r;
		}
		p = eol + 1;
	}
	return 0;
}

int read_small_file(const char *path, char **out, size_t *len)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t used = 0, cap = 4096;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;
		if (used + 1 >= cap) {
			char *nb;
			if (cap >= SMALL_FILE_MAX)
				return -EFBIG;
			nb = realloc(buf, cap * 2);
			if (!nb)
				return -ENOMEM;
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + used, cap - used - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	buf[used] = '\0';
	*len = used;
	*out = steal_pointer(&buf);
	return 0;
}

static int read_pid_map(struct idmap *m, pid_t pid, const char *file,
			struct shift_diag *d)
{
	_cleanup_free_ char *text = NULL;
	char path[64];
	size_t len;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	r = read_small_file(path, &text, &len);
	if (r < 0)
		return shift_diag_set(d, -r, "%s: %s", path,
				      r == -ENOENT ? "no such process"
						   : strerror(-r));
	r = idmap_parse_proc(m, text, len, path, d);
	if (r == 0 && m->n == 0)
		return shift_diag_set(d, EINVAL,
				      "%s: empty map (namespace not set up yet)",
				      path);
	return r;
}

int idmap_read_pid(struct idmaps *m, pid_t pid, struct shift_diag *d)
{
	int r = read_pid_map(&m->uid, pid, "uid_map", d);

	if (r < 0)
		return r;
	return read_pid_map(&m->gid, pid, "gid_map", d);
}
