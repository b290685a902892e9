/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz idmap_parse_spec() (and parse_u32(), which it rests on) with the
 * input as a NUL-terminated spec. Properties: an accepted map satisfies
 * idmap_add()'s invariants; every mapped id at a range edge inverts;
 * format_spec, format_opt and the /proc form all parse back to an equal
 * map; a truncated format returns the full length and a prefix; a refused
 * spec leaves a non-empty one-line message.
 */
#include <errno.h>

#include "fuzz.h"
#include "idmap_parse.h"
#include "parse_int.h"

#define FMT_MAX 16384

/* A plain reference for parse_u32: all digits, at least one, <= max. */
static void check_parse_u32(const char *s, size_t len)
{
	uint64_t v = 0;
	uint32_t out = 0;
	size_t i;
	int r, digits = 1;

	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9') {
			digits = 0;
			break;
		}
		if (v <= UINT32_MAX)
			v = v * 10 + (uint64_t)(s[i] - '0');
	}
	r = parse_u32_n(s, len, 0, UINT32_MAX - 1, &out);
	if (len == 0 || s[0] < '0' || s[0] > '9')
		FUZZ_CHECK(r == -ECANCELED);
	else if (!digits)
		FUZZ_CHECK(r == -ENOTSUP);
	else if (v > UINT32_MAX - 1)
		FUZZ_CHECK(r == -ERANGE);
	else
		FUZZ_CHECK(r == 0 && out == v);
	FUZZ_CHECK(parse_u32_reason(r)[0] != '\0');
}

static void check_msg(const struct shift_diag *d)
{
	size_t len = strnlen(d->msg, sizeof(d->msg));

	FUZZ_CHECK(len > 0 && len < sizeof(d->msg));
}

/* Format with f, parse back with the spec parser, compare. */
static void round_trip(const struct idmap *m,
		       size_t (*f)(const struct idmap *, char *, size_t),
		       char *buf, uint8_t cut)
{
	static struct idmap back;
	struct shift_diag d = {{0}};
	size_t need = f(m, buf, FMT_MAX), k, got;
	static char small[FMT_MAX];

	FUZZ_CHECK(need < FMT_MAX && strlen(buf) == need);
	idmap_init(&back);
	if (idmap_parse_spec(&back, buf, &d) != 0) {
		fprintf(stderr, "formatted \"%s\" refused: %s\n", buf, d.msg);
		FUZZ_CHECK(0);
	}
	FUZZ_CHECK(fuzz_map_equal(m, &back));

	/* Truncation: same return value, a NUL-terminated prefix. */
	k = need ? cut % (need + 1) : 0;
	memset(small, 'X', k + 1);
	got = f(m, small, k);
	FUZZ_CHECK(got == need);
	if (k > 0) {
		FUZZ_CHECK(strlen(small) == (need < k ? need : k - 1));
		FUZZ_CHECK(memcmp(small, buf, strlen(small)) == 0);
	}
	FUZZ_CHECK(small[k] == 'X'); /* nothing written past len */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct idmap m, back;
	static char buf[FMT_MAX];
	struct shift_diag d = {{0}};
	char *spec;
	int r;

	if (size > FMT_MAX)
		return 0;
	check_parse_u32((const char *)data, size);
	spec = malloc(size + 1);
	if (!spec)
		return 0;
	memcpy(spec, data, size);
	spec[size] = '\0';

	idmap_init(&m);
	r = idmap_parse_spec(&m, spec, &d);
	FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ERANGE || r == -E2BIG);
	if (r < 0) {
		check_msg(&d);
		/* Whatever was accepted before the error is still valid. */
		fuzz_check_map(&m);
		free(spec);
		return 0;
	}
	FUZZ_CHECK(m.n >= 1);
	fuzz_check_map(&m);

	round_trip(&m, idmap_format_spec, buf, size ? data[0] : 0);
	round_trip(&m, idmap_format_opt, buf, size > 1 ? data[1] : 0);

	/* The /proc/PID/uid_map form goes back through the proc parser. */
	size_t need = idmap_format(&m, buf, sizeof(buf));
	FUZZ_CHECK(need < sizeof(buf));
	idmap_init(&back);
	FUZZ_CHECK(idmap_parse_proc(&back, buf, need, "fuzz", &d) == 0);
	FUZZ_CHECK(fuzz_map_equal(&m, &back));
	free(spec);
	return 0;
}
