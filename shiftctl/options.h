/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Declarative option tables. Each group of options (the map source, the map
 * files, owner mode, the rewrite options, a verb's own) is one array of
 * struct opt_def that both getopt_long() and --help read, so an option and
 * its help line are written once, next to each other.
 */
#ifndef SHIFTCTL_OPTIONS_H
#define SHIFTCTL_OPTIONS_H

#include <getopt.h>
#include <stdio.h>

struct opt_def {
	const char *name; /* long name; NULL ends a table */
	int has_arg;	  /* no_argument, required_argument, optional_argument */
	int val;	  /* what getopt_long returns: a letter or an OPT_* */
	/*
	 * The help line(s) exactly as printed, each ending in "\n"; NULL for
	 * an option shown on another's line (an alias, or "--a, --b").
	 */
	const char *help;
};

struct opt_group {
	/* Printed as "\nTITLE\n" before the lines; NULL continues the
	 * previous group's list. */
	const char *title;
	const struct opt_def *defs;
};

/*
 * " -h, --help" and " -V, --version": the last lines of every verb's option
 * list. opts_init() adds -V/--version to every parser and opts_next()
 * answers it, so each verb only handles -h.
 */
#define OPT_DEF_HELP                                                           \
	{"help", no_argument, 'h',                                             \
	 " -h, --help                 display this help\n"                     \
	 " -V, --version              display version\n"}
#define OPT_DEF_END {NULL, 0, 0, NULL}

/* One verb's parser: getopt_long's table built from its groups. */
#define OPTS_MAX 96
#define OPTS_SHORT_MAX 32
struct opts {
	char shortopts[OPTS_SHORT_MAX + 2]; /* the verb's, then "V" */
	struct option longopts[OPTS_MAX + 2]; /* the verb's, then "version" */
};

/*
 * Build p from groups (a NULL-terminated list), plus -V/--version. More
 * than OPTS_MAX long options or OPTS_SHORT_MAX characters of shortopts is a
 * programming error: it aborts.
 */
void opts_init(struct opts *p, const char *shortopts,
	       const struct opt_group *const *groups);
/*
 * getopt_long(argc, argv, ...) with p's tables: the next option or -1.
 * -V/--version prints "shiftctl VERSION" and exits 0.
 */
int opts_next(struct opts *p, int argc, char **argv);
/* The help lines of groups, in order, with their titles. */
void opts_help(FILE *out, const struct opt_group *const *groups);

#endif
