/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Verbs whose implementation has not landed yet. Each says so and fails;
 * a verb moves out of this file into its own cmd_<verb>.c when it is built.
 */
#include <stdio.h>

#include "shiftctl.h"

static int pending(const char *verb)
{
	fprintf(stderr, "%s %s: not available in this build yet\n",
		program_name, verb);
	return EXIT_FAIL;
}

int cmd_doctor(int argc, char **argv)
{
	(void)argc, (void)argv;
	return pending("doctor");
}
