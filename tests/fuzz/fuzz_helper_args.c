/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz shiftfs-idmap-helper's own parsers, the first code that reads what
 * a hostile caller gives a privileged program. The first byte picks the
 * parser: even, the command line (the rest split at NUL bytes into at
 * most 64 words, argv[0] first); odd, helper.conf text. Properties: the
 * result is 0 or -EINVAL with a message; a second parse is equal; an
 * accepted command line has a command, absolute SRC/MNT within
 * HELPER_PATH_MAX, both maps for mount and none over HELPER_SPEC_MAX, at
 * most HELPER_ARGC_MAX words; an accepted policy has a known allow value,
 * max-mounts within its bound, and NUL-terminated group names.
 */
#include <errno.h>

#include "args.h"
#include "fuzz.h"
#include "policy.h"

#define WORDS_MAX 64

static void fuzz_args(const char *text, size_t len)
{
	static char buf[65536 + 1];
	char *argv[WORDS_MAX + 1];
	struct helper_args a, b;
	struct shift_diag d = {""}, d2 = {""};
	size_t i, start = 0;
	int argc = 0, r;

	memcpy(buf, text, len);
	buf[len] = '\0';
	for (i = 0; i <= len && argc < WORDS_MAX; i++)
		if (buf[i] == '\0') {
			argv[argc++] = buf + start;
			start = i + 1;
		}
	argv[argc] = NULL;
	r = helper_args_parse(argc, argv, &a, &d);
	FUZZ_CHECK(r == 0 || r == -EINVAL);
	FUZZ_CHECK(helper_args_parse(argc, argv, &b, &d2) == r);
	FUZZ_CHECK(!strcmp(d.msg, d2.msg));
	if (r < 0) {
		FUZZ_CHECK(d.msg[0] != '\0');
		return;
	}
	FUZZ_CHECK(argc - 1 <= HELPER_ARGC_MAX);
	FUZZ_CHECK(a.cmd == b.cmd && a.read_only == b.read_only);
	if (a.cmd == HELPER_MOUNT) {
		FUZZ_CHECK(a.uidmap && a.gidmap && a.src && a.mnt);
		FUZZ_CHECK(*a.uidmap && strlen(a.uidmap) <= HELPER_SPEC_MAX);
		FUZZ_CHECK(*a.gidmap && strlen(a.gidmap) <= HELPER_SPEC_MAX);
		FUZZ_CHECK(a.src[0] == '/' && strlen(a.src) <= HELPER_PATH_MAX);
	}
	if (a.cmd == HELPER_MOUNT || a.cmd == HELPER_UMOUNT)
		FUZZ_CHECK(a.mnt && a.mnt[0] == '/' &&
			   strlen(a.mnt) <= HELPER_PATH_MAX);
	if (a.cmd == HELPER_UMOUNT)
		FUZZ_CHECK(!a.uidmap && !a.gidmap && !a.src && !a.read_only);
	if (a.cmd == HELPER_HELP || a.cmd == HELPER_VERSION)
		FUZZ_CHECK(argc == 2);
}

static void fuzz_policy(const char *text, size_t len)
{
	struct helper_policy p, q;
	struct shift_diag d = {""};
	size_t i;
	int r;

	policy_defaults(&p);
	r = policy_parse(text, len, "helper.conf", &p, &d);
	FUZZ_CHECK(r == 0 || r == -EINVAL);
	policy_defaults(&q);
	FUZZ_CHECK(policy_parse(text, len, "helper.conf", &q, NULL) == r);
	if (r < 0) {
		FUZZ_CHECK(!strncmp(d.msg, "helper.conf", 11));
		return;
	}
	FUZZ_CHECK(p.allow <= POLICY_NONE);
	FUZZ_CHECK(p.max_mounts <= POLICY_MOUNTS_MAX);
	FUZZ_CHECK(p.ngroups <= POLICY_GROUPS_MAX);
	for (i = 0; i < p.ngroups; i++) {
		FUZZ_CHECK(memchr(p.groups[i], '\0', POLICY_NAME_MAX) != NULL);
		FUZZ_CHECK(p.groups[i][0] != '\0');
	}
	FUZZ_CHECK(!memcmp(&p, &q, sizeof(p)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 65536)
		return 0;
	if (data[0] & 1)
		fuzz_policy((const char *)data + 1, size - 1);
	else
		fuzz_args((const char *)data + 1, size - 1);
	return 0;
}
