/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz idmap_parse_proc() with the input as /proc/PID/uid_map text (not
 * NUL-terminated: the parser takes a length). Properties: an accepted map
 * satisfies the map invariants and inverts at every range edge; it formats
 * back to text that both the proc parser and (as a spec) the spec parser
 * accept as an equal map; a refused text names "fuzz_map:LINE".
 */
#include <errno.h>

#include "fuzz.h"
#include "idmap_parse.h"

#define FMT_MAX 16384

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct idmap m, back;
	static char buf[FMT_MAX];
	struct shift_diag d = {{0}};
	size_t need;
	int r;

	if (size > 65536)
		return 0;
	idmap_init(&m);
	r = idmap_parse_proc(&m, (const char *)data, size, "fuzz_map", &d);
	FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ERANGE || r == -E2BIG);
	fuzz_check_map(&m);
	if (r < 0) {
		FUZZ_CHECK(strncmp(d.msg, "fuzz_map:", 9) == 0);
		return 0;
	}

	need = idmap_format(&m, buf, sizeof(buf));
	FUZZ_CHECK(need < sizeof(buf) && strlen(buf) == need);
	idmap_init(&back);
	FUZZ_CHECK(idmap_parse_proc(&back, buf, need, "fuzz_map", &d) == 0);
	FUZZ_CHECK(fuzz_map_equal(&m, &back));

	if (m.n == 0)
		return 0; /* an empty spec is refused by design */
	need = idmap_format_spec(&m, buf, sizeof(buf));
	FUZZ_CHECK(need < sizeof(buf));
	idmap_init(&back);
	FUZZ_CHECK(idmap_parse_spec(&back, buf, &d) == 0);
	FUZZ_CHECK(fuzz_map_equal(&m, &back));
	return 0;
}
