/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shiftctl: compute id maps, mount and unmount shifted views, diagnose and
 * rewrite volume ownership. Global options, then a table of verbs, each in
 * its own cmd_<verb>.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "shiftctl.h"

const char *program_name = "shiftctl";
int shiftctl_argc;
char **shiftctl_argv;

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{"map", cmd_map, "print the id maps of a layout, translate ids"},
	{"mount", cmd_mount, "show SRC at MNT with owners shifted"},
	{"umount", cmd_umount, "unmount a shiftfs or idmapped mount"},
	{"status", cmd_status, "list active shifted mounts"},
	{"chown", cmd_chown, "chown a volume in place for a container USER"},
	{"shift", cmd_shift, "shift every owner of a volume through a map"},
	{"undo", cmd_undo, "undo a chown or shift from its journal"},
	{"doctor", cmd_doctor, "explain why a container cannot use a volume"},
	{"plugin", cmd_plugin, "a docker/podman volume plugin of shifted "
			       "volumes"},
};

noreturn void die(int code, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: ", program_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

void warn(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: warning: ", program_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

noreturn void usage_error(const char *verb, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s %s: ", program_name, verb);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s %s --help' for more information.\n",
		program_name, verb);
	exit(EXIT_USAGE);
}

noreturn void usage_try(const char *verb)
{
	fprintf(stderr, "Try '%s %s --help' for more information.\n",
		program_name, verb);
	exit(EXIT_USAGE);
}

static void usage(FILE *out)
{
	size_t i;

	fprintf(out, "\nUsage:\n %s [options] <command> [command options]\n",
		program_name);
	fputs("\nShift the owners of a container volume: show a host directory\n"
	      "with uids/gids translated through an id map, or rewrite them.\n",
	      out);
	fputs("\nCommands:\n", out);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, " %-10s %s\n", commands[i].name,
			commands[i].summary);
	fputs("\nOptions:\n", out);
	fputs(" -h, --help     display this help\n", out);
	fputs(" -V, --version  display version\n", out);
	fprintf(out, "\nRun '%s <command> --help' for a command's options.\n",
		program_name);
	fputs("For more details see shiftctl(1).\n", out);
}

/*
 * "shiftctl --rootless=x map": a verb's option before the verb. Say so,
 * with the command as it should be (the verb first) when one was given.
 */
static noreturn void misplaced_option(int argc, char **argv)
{
	size_t i;
	int v, j;

	for (v = 0; v < argc; v++)
		for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
			if (!strcmp(argv[v], commands[i].name))
				goto found;
	fprintf(stderr,
		"%s: %s: options go after the command (%s COMMAND "
		"[options])\n",
		program_name, argv[0], program_name);
	fprintf(stderr, "Try '%s --help' for more information.\n",
		program_name);
	exit(EXIT_USAGE);
found:
	fprintf(stderr, "%s: %s: options go after the command: %s %s",
		program_name, argv[0], program_name, argv[v]);
	for (j = 0; j < argc; j++) {
		char *q;

		if (j == v)
			continue;
		q = sh_quote(argv[j]);
		fprintf(stderr, " %s", q);
		free(q);
	}
	fputc('\n', stderr);
	exit(EXIT_USAGE);
}

int main(int argc, char **argv)
{
	char *help_args[] = {NULL, (char *)"--help", NULL};
	static char verb_name[64];
	size_t i;

	shift_log_set_prog(program_name);
	/* A copy: the verb's argv[0] is rewritten below. */
	shiftctl_argv = calloc((size_t)argc + 1, sizeof(*argv));
	if (shiftctl_argv) {
		memcpy(shiftctl_argv, argv, (size_t)argc * sizeof(*argv));
		shiftctl_argc = argc;
	}
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
		printf("%s %s\n", program_name, SHIFT_VERSION);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "help") && argc > 2) {
		help_args[0] = argv[2];
		argv = help_args;
		argc = 2;
	} else {
		argv++;
		argc--;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[0], commands[i].name))
			continue;
		/* getopt_long's own messages then say "shiftctl VERB: ...". */
		snprintf(verb_name, sizeof(verb_name), "%s %s", program_name,
			 commands[i].name);
		argv[0] = verb_name;
		return commands[i].fn(argc, argv);
	}
	if (argv[0][0] == '-')
		misplaced_option(argc, argv);
	fprintf(stderr, "%s: unknown command '%s'\n", program_name, argv[0]);
	fprintf(stderr, "Try '%s --help' for more information.\n",
		program_name);
	return EXIT_USAGE;
}
