/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The idmap backend for ordinary users: shiftfs-idmap-helper (helper/),
 * a small program with cap_sys_admin,cap_setuid,cap_setgid that makes
 * the kernel idmapped mount when every id of the map is the caller's own.
 * shiftctl runs it with the checked, canonical SRC and MNT paths and the
 * maps; the helper checks everything again itself (it trusts nothing of
 * ours). Its one-line refusal becomes the reason auto gives for FUSE.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "mount_int.h"
#include "mounts.h"

#ifndef SHIFT_HELPER_PATH
#define SHIFT_HELPER_PATH "/usr/local/libexec/shiftfs/shiftfs-idmap-helper"
#endif
#define HELPER_PREFIX "shiftfs-idmap-helper: "

const char *helper_path(void)
{
	const char *env = getenv("SHIFTCTL_IDMAP_HELPER");

	/* Only for the test suite and unprivileged: root never uses it. */
	if (env && env[0] == '/' && geteuid() != 0 && getuid() == geteuid())
		return env;
	return SHIFT_HELPER_PATH;
}

bool helper_installed(void)
{
	return access(helper_path(), X_OK) == 0;
}

/* Run the helper with argv; its stderr (first line, prefix cut) in msg.
 * Returns its exit status, or -errno when it could not be run. */
int helper_run(char *const argv[], char *msg, size_t len)
{
	char buf[1024];
	size_t got = 0;
	int pipefd[2], status;
	ssize_t n;
	pid_t pid;

	msg[0] = '\0';
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]), close(pipefd[1]);
		return -errno;
	}
	if (pid == 0) {
		dup2(pipefd[1], 2);
		execv(argv[0], argv);
		dprintf(2, HELPER_PREFIX "%s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	while (got + 1 < sizeof(buf) &&
	       (n = read(pipefd[0], buf + got, sizeof(buf) - 1 - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		got += (size_t)n;
	}
	close(pipefd[0]);
	buf[got] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	snprintf(msg, len, "%s",
		 strncmp(buf, HELPER_PREFIX, strlen(HELPER_PREFIX))
			 ? buf
			 : buf + strlen(HELPER_PREFIX));
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

int mount_helper(const struct mount_opts *o, struct mount_result *r,
		 const struct idmaps *m, char *msg, size_t len)
{
	static char us[IDMAP_MAX_RANGES * 36 + 16];
	static char gs[IDMAP_MAX_RANGES * 36 + 16];
	char *argv[8];
	_cleanup_close_ int fd = -1;
	int i = 0, st;

	snprintf(us, sizeof(us), "--uidmap=");
	idmap_format_spec(&m->uid, us + 9, sizeof(us) - 9);
	snprintf(gs, sizeof(gs), "--gidmap=");
	idmap_format_spec(&m->gid, gs + 9, sizeof(gs) - 9);
	argv[i++] = (char *)helper_path();
	argv[i++] = "mount";
	if (o->read_only)
		argv[i++] = "--read-only";
	argv[i++] = us;
	argv[i++] = gs;
	argv[i++] = "--";
	argv[i++] = r->src;
	argv[i++] = r->mnt;
	argv[i] = NULL;
	st = helper_run(argv, msg, len);
	if (st != 0)
		return st < 0 ? st : -EPERM;
	/* The new mount is on top of MNT now: its root's mount id. */
	fd = fdpath_open(r->mnt, O_DIRECTORY);
	if (fd >= 0)
		mnt_id_at(fd, "", &r->mnt_id, &r->mnt_uniq);
	return 0;
}

int umount_helper(const char *mnt, bool lazy, char *msg, size_t len)
{
	char *argv[6];
	int i = 0, st;

	argv[i++] = (char *)helper_path();
	argv[i++] = "umount";
	if (lazy)
		argv[i++] = "--lazy";
	argv[i++] = "--";
	argv[i++] = (char *)mnt;
	argv[i] = NULL;
	st = helper_run(argv, msg, len);
	if (st < 0)
		return st;
	if (st != 0 && msg[0]) {
		/* umount's message names who refused. */
		char words[512];

		snprintf(words, sizeof(words), "%s", msg);
		snprintf(msg, len, HELPER_PREFIX "%s", words);
	}
	return st == 0 ? 0 : -EPERM;
}
