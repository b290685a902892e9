/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * syspath.c: whole system subtrees are refused at any depth, data parents
 * only as themselves, home directories exactly; ordinary data below them
 * is not a system path.
 */
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "syspath.h"
#include "tap.h"

static void test_subtrees_at_any_depth(void)
{
	CHECK_STR(syspath_why("/etc"), "the system directory /etc");
	CHECK_STR(syspath_why("/etc/cron.d"), "inside the system directory /etc");
	CHECK_STR(syspath_why("/usr/lib/x86_64-linux-gnu"),
		  "inside the system directory /usr");
	CHECK_STR(syspath_why("/var/spool/cron"),
		  "inside the system directory /var/spool");
	CHECK_STR(syspath_why("/proc/1/root"),
		  "inside the system directory /proc");
	CHECK_STR(syspath_why("/run/shiftfs-helper/993"),
		  "inside the system directory /run/shiftfs-helper");
}

static void test_data_parents_only_as_themselves(void)
{
	CHECK_STR(syspath_why("/"), "the system directory /");
	CHECK_STR(syspath_why("/srv"), "the system directory /srv");
	CHECK_STR(syspath_why("/var/lib"), "the system directory /var/lib");
	CHECK(syspath_why("/srv/pg") == NULL);
	CHECK(syspath_why("/var/lib/docker/volumes/x/_data") == NULL);
	CHECK(syspath_why("/tmp/vol") == NULL);
	CHECK(syspath_why("/run/user/1000/shiftfs/vol") == NULL);
}

static void test_prefix_is_not_a_parent(void)
{
	/* "/etcetera" is not below "/etc", "/usrdata" not below "/usr" */
	CHECK(syspath_why("/etcetera") == NULL);
	CHECK(syspath_why("/usrdata/x") == NULL);
}

/* A user's home directory is refused as itself; what is below it is not. */
static void test_home_directories(void)
{
	struct passwd *pw;
	char want[300], home[256], below[300];
	bool found = false;

	setpwent();
	while (!found && (pw = getpwent())) {
		/* a home that no table entry covers: only the home rule can */
		if (!pw->pw_dir || (strncmp(pw->pw_dir, "/home/", 6) &&
				    strncmp(pw->pw_dir, "/var/lib/", 9)))
			continue;
		snprintf(home, sizeof(home), "%s", pw->pw_dir);
		snprintf(want, sizeof(want), "the home directory of %s",
			 pw->pw_name);
		found = true;
	}
	endpwent();
	if (!found)
		return tap_skip("no user with a home under /home or /var/lib");
	CHECK_STR(syspath_why(home), want);
	snprintf(below, sizeof(below), "%s/data", home);
	CHECK(syspath_why(below) == NULL);
}

int main(void)
{
	static const struct tap_case cases[] = {
		TAP_CASE(test_subtrees_at_any_depth),
		TAP_CASE(test_data_parents_only_as_themselves),
		TAP_CASE(test_prefix_is_not_a_parent),
		TAP_CASE(test_home_directories),
	};

	return tap_main(cases, sizeof(cases) / sizeof(cases[0]));
}
