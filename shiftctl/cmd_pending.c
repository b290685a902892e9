/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Verbs whose implementation has not landed yet. Each says so and fails;
 * a verb moves out of this file into its own cmd_<verb>.c when it is built.
 */
#include <stdio.h>

#include "shiftctl.h"

/* Every verb has landed; a new one starts here with a pending() stub:
 *
 *	static int pending(const char *verb)
 *	{
 *		fprintf(stderr, "%s %s: not available in this build yet\n",
 *			program_name, verb);
 *		return EXIT_FAIL;
 *	}
 */
