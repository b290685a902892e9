/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Declarative option tables: getopt_long()'s struct option array and the
 * option list of --help, both from the same struct opt_def arrays.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"

void opts_init(struct opts *p, const char *shortopts,
	       const struct opt_group *const *groups)
{
	const struct opt_def *d;
	size_t n = 0;

	memset(p, 0, sizeof(*p));
	if (strlen(shortopts) > OPTS_SHORT_MAX)
		abort(); /* raise OPTS_SHORT_MAX */
	/* A leading ':' or '+' must stay first: "V" goes at the end. */
	snprintf(p->shortopts, sizeof(p->shortopts), "%sV", shortopts);
	for (; *groups; groups++)
		for (d = (*groups)->defs; d->name; d++) {
			if (n == OPTS_MAX)
				abort(); /* raise OPTS_MAX */
			p->longopts[n].name = d->name;
			p->longopts[n].has_arg = d->has_arg;
			p->longopts[n++].val = d->val;
		}
	p->longopts[n].name = "version";
	p->longopts[n].has_arg = no_argument;
	p->longopts[n].val = 'V';
}

int opts_next(struct opts *p, int argc, char **argv)
{
	int ch = getopt_long(argc, argv, p->shortopts, p->longopts, NULL);

	if (ch == 'V') {
		printf("shiftctl %s\n", SHIFT_VERSION);
		exit(EXIT_SUCCESS);
	}
	return ch;
}

void opts_help(FILE *out, const struct opt_group *const *groups)
{
	const struct opt_def *d;

	for (; *groups; groups++) {
		if ((*groups)->title)
			fprintf(out, "\n%s\n", (*groups)->title);
		for (d = (*groups)->defs; d->name; d++)
			if (d->help)
				fputs(d->help, out);
	}
}
