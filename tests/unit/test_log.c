/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * log.c: level filtering, a pluggable sink, and the stderr sink's line
 * format ("PROG: error: MSG"), which the integration tests grep for.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "idmap_parse.h"
#include "log.h"
#include "tap.h"

static char got[2048];
static enum shift_log_level got_level;
static int calls;

static void sink(enum shift_log_level level, const char *msg)
{
	snprintf(got, sizeof(got), "%s", msg);
	got_level = level;
	calls++;
}

static void test_sink_and_levels(void)
{
	shift_log_set_sink(sink);
	shift_log_set_level(SHIFT_LOG_INFO);
	calls = 0;
	shift_log(SHIFT_LOG_ERR, "map %s: %d", "x", 42);
	CHECK_EQ(calls, 1);
	CHECK_STR(got, "map x: 42");
	CHECK_EQ(got_level, SHIFT_LOG_ERR);
	shift_log(SHIFT_LOG_INFO, "info");
	CHECK_EQ(calls, 2);
	shift_log(SHIFT_LOG_DEBUG, "debug dropped");
	CHECK_EQ(calls, 2);
	CHECK_STR(got, "info");
	shift_log_set_level(SHIFT_LOG_DEBUG);
	shift_log(SHIFT_LOG_DEBUG, "debug kept");
	CHECK_EQ(calls, 3);
	shift_log_set_level(SHIFT_LOG_ERR);
	shift_log(SHIFT_LOG_WARNING, "warning dropped");
	CHECK_EQ(calls, 3);
	shift_log_set_level(SHIFT_LOG_INFO);
	shift_log_set_sink(NULL);
}

static void test_newlines_and_length(void)
{
	static char big[3000];

	shift_log_set_sink(sink);
	shift_log(SHIFT_LOG_ERR, "one line\n\n");
	CHECK_STR(got, "one line");
	memset(big, 'a', sizeof(big) - 1);
	shift_log(SHIFT_LOG_ERR, "%s", big);
	CHECK_EQ(strlen(got), 1023); /* bounded, still a whole string */
	shift_log_set_sink(NULL);
}

static void test_stderr_format(void)
{
	const char *path;
	char *text = NULL;
	size_t len;
	int saved, fd;

	path = tap_tmpfile("stderr", "");
	fflush(stderr);
	saved = dup(2);
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	CHECK(saved >= 0 && fd >= 0);
	if (saved < 0 || fd < 0)
		return;
	dup2(fd, 2);
	close(fd);
	shift_log_set_prog("shiftctl");
	shift_log(SHIFT_LOG_ERR, "no entry for user %s in %s", "bob",
		  "/etc/subuid");
	shift_log(SHIFT_LOG_WARNING, "careful");
	shift_log(SHIFT_LOG_NOTICE, "plain");
	shift_log(SHIFT_LOG_DEBUG, "hidden");
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	CHECK_EQ(read_small_file(path, &text, &len), 0);
	CHECK_STR(text, "shiftctl: error: no entry for user bob in "
			"/etc/subuid\n"
			"shiftctl: warning: careful\n"
			"shiftctl: plain\n");
	free(text);
}

int main(void)
{
	static const struct tap_case cases[] = {
		TAP_CASE(test_sink_and_levels),
		TAP_CASE(test_newlines_and_length),
		TAP_CASE(test_stderr_format),
	};

	return tap_main(cases, sizeof(cases) / sizeof(cases[0]));
}
