/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shiftfs-idmap-helper's command line, parsed without getopt (no locale,
 * no environment: POSIXLY_CORRECT and friends are not ours to honour) and
 * without allocating. The parser only splits and bounds argv; what the
 * words mean (maps, paths) is checked by the caller.
 *
 *   shiftfs-idmap-helper mount [--read-only] --uidmap=SPEC --gidmap=SPEC
 *                              [--] SRC MNT
 *   shiftfs-idmap-helper umount [--lazy] [--] MNT
 *   shiftfs-idmap-helper --help | --version
 */
#ifndef SHIFT_HELPER_ARGS_H
#define SHIFT_HELPER_ARGS_H

#include <stdbool.h>

#include "diag.h"

/* At most this many words after the program name. */
#define HELPER_ARGC_MAX 8
/* Longest path word (PATH_MAX - 1) and longest map word (340 ranges). */
#define HELPER_PATH_MAX 4095
#define HELPER_SPEC_MAX 16384

enum helper_cmd { HELPER_HELP, HELPER_VERSION, HELPER_MOUNT, HELPER_UMOUNT };

struct helper_args {
	enum helper_cmd cmd;
	bool read_only, lazy;
	const char *uidmap, *gidmap; /* the SPEC after "=" */
	const char *src, *mnt;	     /* absolute, as given */
};

/*
 * Fill a from argv (argc words, argv[0] the program). 0, or -EINVAL with
 * d saying which word is wrong (a usage error: exit status 2). Pointers in
 * a point into argv.
 */
int helper_args_parse(int argc, char *const *argv, struct helper_args *a,
		      struct shift_diag *d);

#endif
