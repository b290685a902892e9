/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The system directories root's shiftctl never touches without --force:
 * whole subtrees (everything below /etc is the system's) and exact
 * directories whose children are ordinary data (/srv/pg, /var/lib/docker/
 * volumes/x/_data, /home/alice/data are what people chown and mount).
 */
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "syspath.h"

static const char *const subtrees[] = {
	"/bin",	     "/boot",	  "/dev",	 "/etc",	"/lib",
	"/lib32",    "/lib64",	  "/libx32",	 "/proc",	"/root",
	"/sbin",     "/sys",	  "/usr",	 "/var/log",	"/var/spool",
	"/var/cache", "/var/mail", "/var/lib/dpkg", "/var/lib/apt",
	"/var/lib/systemd", "/var/lib/polkit-1", "/var/lib/sudo",
	"/var/backups", "/run/systemd", "/run/udev", "/run/dbus",
	"/run/sudo", "/run/lock", "/run/shiftfs", "/run/shiftfs-helper",
};

static const char *const exact[] = {
	"/",	      "/home", "/media", "/mnt",	 "/opt",     "/run",
	"/run/user",  "/srv",  "/tmp",	 "/var",	 "/var/lib", "/var/tmp",
	"/var/opt",   "/var/local",
};

/* a is b or below it (both canonical). */
static bool below(const char *a, const char *b)
{
	size_t n = strlen(b);

	return !strncmp(a, b, n) && (a[n] == '/' || a[n] == '\0');
}

static const char *home_of(const char *real)
{
	static char why[300];
	struct passwd *pw;
	const char *hit = NULL;

	setpwent();
	while (!hit && (pw = getpwent())) {
		if (!pw->pw_dir || pw->pw_dir[0] != '/' ||
		    strcmp(real, pw->pw_dir))
			continue;
		snprintf(why, sizeof(why), "the home directory of %s",
			 pw->pw_name);
		hit = why;
	}
	endpwent();
	return hit;
}

const char *syspath_why(const char *real)
{
	static char why[300];
	size_t i;

	for (i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (!strcmp(real, exact[i])) {
			snprintf(why, sizeof(why), "the system directory %s",
				 exact[i]);
			return why;
		}
	for (i = 0; i < sizeof(subtrees) / sizeof(subtrees[0]); i++)
		if (below(real, subtrees[i])) {
			snprintf(why, sizeof(why),
				 "%s the system directory %s",
				 strcmp(real, subtrees[i]) ? "inside" : "",
				 subtrees[i]);
			/* "inside X" or " X": drop the lone leading blank */
			return why[0] == ' ' ? why + 1 : why;
		}
	return home_of(real);
}
