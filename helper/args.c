/* SPDX-License-Identifier: GPL-2.0-or-later */
/* shiftfs-idmap-helper's argument parser; see args.h. */
#include <errno.h>
#include <string.h>

#include "args.h"

/* The value of "--NAME=VALUE" when word is that option, else NULL. */
static const char *opt_value(const char *word, const char *name)
{
	size_t n = strlen(name);

	if (strncmp(word, name, n) || word[n] != '=')
		return NULL;
	return word + n + 1;
}

/* A path word: absolute, not too long. */
static int check_path(const char *what, const char *p, struct shift_diag *d)
{
	if (p[0] != '/')
		return shift_diag_set(d, EINVAL, "%s must be an absolute path",
				      what);
	if (strlen(p) > HELPER_PATH_MAX)
		return shift_diag_set(d, EINVAL, "%s is longer than %d bytes",
				      what, HELPER_PATH_MAX);
	return 0;
}

static int set_spec(const char **slot, const char *v, const char *name,
		    struct shift_diag *d)
{
	if (*slot)
		return shift_diag_set(d, EINVAL, "%s given twice", name);
	if (!*v)
		return shift_diag_set(d, EINVAL, "%s is empty", name);
	if (strlen(v) > HELPER_SPEC_MAX)
		return shift_diag_set(d, EINVAL, "%s is longer than %d bytes",
				      name, HELPER_SPEC_MAX);
	*slot = v;
	return 0;
}

/* One option word of cmd; -EINVAL for anything else. */
static int parse_opt(const char *w, struct helper_args *a,
		     struct shift_diag *d)
{
	const char *v;

	if (a->cmd == HELPER_MOUNT && !strcmp(w, "--read-only")) {
		a->read_only = true;
		return 0;
	}
	if (a->cmd == HELPER_UMOUNT && !strcmp(w, "--lazy")) {
		a->lazy = true;
		return 0;
	}
	if (a->cmd == HELPER_MOUNT && (v = opt_value(w, "--uidmap")))
		return set_spec(&a->uidmap, v, "--uidmap", d);
	if (a->cmd == HELPER_MOUNT && (v = opt_value(w, "--gidmap")))
		return set_spec(&a->gidmap, v, "--gidmap", d);
	return shift_diag_set(d, EINVAL, "unknown option \"%.40s\"", w);
}

static int parse_cmd(const char *w, struct helper_args *a,
		     struct shift_diag *d)
{
	if (!strcmp(w, "mount"))
		a->cmd = HELPER_MOUNT;
	else if (!strcmp(w, "umount"))
		a->cmd = HELPER_UMOUNT;
	else if (!strcmp(w, "--help") || !strcmp(w, "-h"))
		a->cmd = HELPER_HELP;
	else if (!strcmp(w, "--version") || !strcmp(w, "-V"))
		a->cmd = HELPER_VERSION;
	else
		return shift_diag_set(d, EINVAL, "unknown command \"%.40s\"",
				      w);
	return 0;
}

int helper_args_parse(int argc, char *const *argv, struct helper_args *a,
		      struct shift_diag *d)
{
	const char *pos[2] = {NULL, NULL};
	int i, npos = 0, want, r;
	bool opts = true;

	memset(a, 0, sizeof(*a));
	if (argc < 2 || !argv || !argv[0] || !argv[1])
		return shift_diag_set(d, EINVAL, "no command");
	if (argc - 1 > HELPER_ARGC_MAX)
		return shift_diag_set(d, EINVAL, "more than %d arguments",
				      HELPER_ARGC_MAX);
	r = parse_cmd(argv[1], a, d);
	if (r < 0)
		return r;
	if (a->cmd == HELPER_HELP || a->cmd == HELPER_VERSION)
		return argc == 2 ? 0
				 : shift_diag_set(d, EINVAL,
						  "%s takes no arguments",
						  argv[1]);
	want = a->cmd == HELPER_MOUNT ? 2 : 1;
	for (i = 2; i < argc; i++) {
		const char *w = argv[i];

		if (!w)
			return shift_diag_set(d, EINVAL, "missing argument");
		if (opts && !strcmp(w, "--")) {
			opts = false;
			continue;
		}
		if (opts && w[0] == '-') {
			r = parse_opt(w, a, d);
			if (r < 0)
				return r;
			continue;
		}
		if (npos == want)
			return shift_diag_set(d, EINVAL,
					      "too many arguments");
		pos[npos++] = w;
	}
	if (npos < want)
		return shift_diag_set(d, EINVAL, want == 2 ? "need SRC and MNT"
							   : "need MNT");
	if (a->cmd == HELPER_MOUNT && (!a->uidmap || !a->gidmap))
		return shift_diag_set(d, EINVAL,
				      "need --uidmap=SPEC and --gidmap=SPEC");
	if (a->cmd == HELPER_MOUNT) {
		a->src = pos[0];
		a->mnt = pos[1];
		r = check_path("SRC", a->src, d);
		return r < 0 ? r : check_path("MNT", a->mnt, d);
	}
	a->mnt = pos[0];
	return check_path("MNT", a->mnt, d);
}
