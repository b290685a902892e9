/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The mount engine's own small helpers around lib/mountinfo.c (mountinfo
 * parsing, mount ids, the checked unmount): a mount point's canonical path
 * even when its daemon is dead, and a process's state and start time.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "mounts.h"

int mnt_canonical(const char *path, char *out, size_t len)
{
	_cleanup_free_ char *d1 = strdup(path), *d2 = strdup(path);
	char parent[PATH_MAX];
	const char *base;

	if (!d1 || !d2)
		return -ENOMEM;
	if (realpath(path, parent)) {
		if (strlen(parent) >= len)
			return -ENAMETOOLONG;
		strcpy(out, parent);
		return 0;
	}
	if (errno != ENOTCONN && errno != EIO)
		return -errno;
	base = basename(d2);
	if (!realpath(dirname(d1), parent))
		return -errno;
	if ((size_t)snprintf(out, len, "%s/%s",
			     strcmp(parent, "/") ? parent : "", base) >= len)
		return -ENAMETOOLONG;
	return 0;
}

int proc_stat(pid_t pid, char *state, unsigned long long *start)
{
	unsigned int flags;

	return proc_stat_flags(pid, state, &flags, start);
}

int proc_stat_flags(pid_t pid, char *state, unsigned int *flags,
		    unsigned long long *start)
{
	char path[64], buf[1024], *p;
	_cleanup_close_ int fd = -1;
	ssize_t n;
	int i;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return n < 0 ? -errno : -EIO;
	buf[n] = '\0';
	/* The comm may hold spaces and ')': fields start after the last.
	 * Field 3 is the state, 9 the flags, 22 the start time. */
	p = strrchr(buf, ')');
	if (!p ||
	    sscanf(p + 1, " %c %*d %*d %*d %*d %*d %u", state, flags) != 2)
		return -EINVAL;
	/* Field 22, starttime, is the 20th after the comm. */
	for (i = 0; p && i < 20; i++)
		p = strchr(p + 1, ' ');
	if (!p)
		return -EINVAL;
	*start = strtoull(p + 1, NULL, 10);
	return 0;
}

/* PF_EXITING (include/linux/sched.h), in /proc/PID/stat's flags: set as
 * the process starts to exit, before its files are closed. */
#define SFS_PF_EXITING 0x4u

static bool daemon_ended(pid_t pid, long long start, bool exiting)
{
	unsigned long long t;
	unsigned int flags;
	char state;

	if (proc_stat_flags(pid, &state, &flags, &t) < 0)
		return true;
	return state == 'Z' || state == 'X' ||
	       (exiting && (flags & SFS_PF_EXITING)) ||
	       (start >= 0 && t != (unsigned long long)start);
}

bool daemon_gone(pid_t pid, long long start)
{
	return daemon_ended(pid, start, true);
}

bool daemon_exited(pid_t pid, long long start)
{
	return daemon_ended(pid, start, false);
}
