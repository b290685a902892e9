/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shiftctl umount's engine: take down a shifted mount of either backend,
 * and only ours: the mount shiftctl mount recorded (its mount id matches
 * the record), or with --force any fuse.shiftfs or idmapped mount. For
 * FUSE, waits for the daemon to exit.
 *
 * Any user can make a fuse.shiftfs mount, and a user owning a directory on
 * MNT's path can rename things under it: the mount is identified by its
 * mount id (statx STATX_MNT_ID), not by the path, and unmounted through
 * a verified fd of MNT's parent (umount_checked), so that what is
 * unmounted is the mount that was checked.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "mount_int.h"
#include "mounts.h"

struct sub_ctx {
	int *ids; /* ids[0] is the tree's top; the rest its submounts */
	char (*targets)[PATH_MAX];
	size_t n, cap;
	bool grew;
};

static int collect_sub(const struct mnt_entry *e, void *ctx)
{
	struct sub_ctx *c = ctx;
	size_t i;

	for (i = 0; i < c->n; i++)
		if (c->ids[i] == e->id)
			return 0;
	for (i = 0; i < c->n && c->ids[i] != e->parent; i++)
		;
	if (i == c->n)
		return 0;
	if (c->n == c->cap) {
		size_t cap = c->cap * 2;
		void *p = realloc(c->ids, cap * sizeof(*c->ids)), *q;

		if (!p)
			return -ENOMEM;
		c->ids = p;
		q = realloc(c->targets, cap * sizeof(*c->targets));
		if (!q)
			return -ENOMEM;
		c->targets = q;
		c->cap = cap;
	}
	c->ids[c->n] = e->id;
	snprintf(c->targets[c->n++], PATH_MAX, "%s", e->target);
	c->grew = true;
	return 0;
}

/*
 * An idmapped tree carries SRC's submounts: unmount them (found by parent
 * mount id, not by path), newest first, then the top; each through
 * umount_checked, by its own mount id.
 */
static int umount_tree(const char *mnt, int id, bool lazy)
{
	struct sub_ctx c = {NULL, NULL, 1, 8, true};
	int r = 0;

	if (lazy)
		return umount_checked(mnt, id, MNT_DETACH);
	c.ids = malloc(c.cap * sizeof(*c.ids));
	c.targets = malloc(c.cap * sizeof(*c.targets));
	if (!c.ids || !c.targets) {
		free(c.ids);
		free(c.targets);
		return -ENOMEM;
	}
	c.ids[0] = id;
	snprintf(c.targets[0], PATH_MAX, "%s", mnt);
	while (r == 0 && c.grew) {
		c.grew = false;
		r = mnt_foreach(collect_sub, &c);
	}
	while (r == 0 && c.n > 1) {
		c.n--;
		r = umount_checked(c.targets[c.n], c.ids[c.n], 0);
		if (r == -EINVAL || r == -ENOENT)
			r = 0; /* already gone with its parent */
	}
	if (r == 0)
		r = umount_checked(mnt, id, 0);
	free(c.ids);
	free(c.targets);
	return r;
}

/*
 * fusermount3's stderr, read from fd into msg (its last line, without the
 * newline): what it says is the cause the user should see.
 */
static void read_helper_msg(int fd, char *msg, size_t len)
{
	char buf[1024], *p, *line;
	size_t n = 0;
	ssize_t k;

	while (n < sizeof(buf) - 1 &&
	       (k = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)k;
	buf[n] = '\0';
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	p = strrchr(buf, '\n');
	line = p ? p + 1 : buf;
	n = strlen(line);
	if (n >= len)
		n = len - 1;
	memcpy(msg, line, n);
	msg[n] = '\0';
}

static int umount_fuse(const char *mnt, int id, bool lazy, char *msg,
		       size_t len)
{
	int status, pfd[2];
	pid_t pid;

	if (geteuid() == 0)
		return umount_checked(mnt, id, lazy ? MNT_DETACH : 0);
	/* Unprivileged: the setuid helper that mounted it unmounts it. */
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -errno;
	}
	if (pid == 0) {
		dup2(pfd[1], STDERR_FILENO);
		execlp("fusermount3", "fusermount3", lazy ? "-uz" : "-u", mnt,
		       (char *)NULL);
		fprintf(stderr, "cannot run fusermount3: %s\n",
			strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	read_helper_msg(pfd[0], msg, len);
	close(pfd[0]);
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	/* "fusermount3: failed to unmount MNT: Device or resource busy" */
	if (strstr(msg, strerror(EBUSY)))
		return -EBUSY;
	return -EPERM;
}

/* The daemon exits once its mount is gone; give it 10 s, then SIGTERM.
 * Returns pid when it had to be sent SIGTERM, else 0. */
static pid_t wait_daemon(pid_t pid, long long start)
{
	struct timespec ts = {0, 20000000L};
	int i;

	if (pid <= 0)
		return 0;
	for (i = 0; i < 500; i++) {
		waitpid(pid, NULL, WNOHANG); /* in case it is our child */
		if (daemon_exited(pid, start))
			return 0;
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGTERM);
	return pid;
}

/* Is e the mount st recorded (same mount id, same unique id where both
 * are known, same backend)? */
static bool recorded(struct json_object *st, const struct mnt_entry *e,
		     unsigned long long uniq, bool fuse)
{
	long long u;

	if (!st || state_int(st, "mount_id") != e->id)
		return false;
	u = state_int(st, "mount_id_unique");
	if (u > 0 && uniq && (unsigned long long)u != uniq)
		return false;
	if (fuse)
		return !strcmp(state_str(st, "backend"), "fuse");
	return !strcmp(state_str(st, "backend"), "idmap") && mnt_is_idmapped(e);
}

/* The mount whose mount point is mnt: its id (by statx through a verified
 * fd of the parent) and mountinfo entry. -ENOENT: nothing mounted there. */
static int find_mount(const char *mnt, struct mnt_entry *e,
		      unsigned long long *uniq)
{
	_cleanup_close_ int pfd = -1;
	const char *name;
	int id, r;

	r = mnt_id_of_path(mnt, &pfd, &name, &id, uniq);
	if (r == -EINVAL)
		return -ENOENT; /* "/" or no parent: nothing of ours */
	if (r < 0)
		return r;
	r = mnt_by_id(id, e);
	if (r < 0)
		return r;
	return strcmp(e->target, mnt) ? -ENOENT : 0;
}

enum unmount_status mount_unmount(const struct unmount_opts *o,
				  struct unmount_result *r)
{
	struct json_object *st = NULL;
	static struct mnt_entry e;
	unsigned long long uniq = 0;
	long long start = -1;
	pid_t pid = 0;
	bool ours;
	int err;

	memset(r, 0, sizeof(*r));
	state_read(o->mnt, &st);
	err = find_mount(o->mnt, &e, &uniq);
	if (err == -ENOENT) {
		/* A record whose mount is gone is stale; one whose mount
		 * still exists (moved by a rename on its path) is kept. */
		if (st && !state_mount_exists(st))
			state_remove(o->mnt);
		json_object_put(st);
		return UNMOUNT_NOT_MOUNTED;
	}
	if (err < 0) {
		json_object_put(st);
		r->err = err;
		return err == -ELOOP || err == -ESTALE ? UNMOUNT_CHANGED
						       : UNMOUNT_LOOKUP;
	}
	r->fuse = !strcmp(e.fstype, SHIFTFS_FSTYPE);
	r->idmapped = mnt_is_idmapped(&e);
	snprintf(r->fstype, sizeof(r->fstype), "%s", e.fstype);
	snprintf(r->source, sizeof(r->source), "%s", e.source);
	ours = recorded(st, &e, uniq, r->fuse);
	if ((!r->fuse && !r->idmapped) || (!ours && !o->force)) {
		json_object_put(st);
		return !r->fuse && !r->idmapped ? UNMOUNT_NOT_SHIFTED
						: UNMOUNT_NOT_RECORDED;
	}
	if (ours && r->fuse)
		pid = (pid_t)state_int(st, "pid"),
		start = state_int(st, "pid_start");
	json_object_put(st);
	if (!r->fuse && geteuid() != 0) {
		/* Not root: only shiftfs-idmap-helper can, for its own. */
		err = umount_helper(o->mnt, o->lazy, r->helper_msg,
				    sizeof(r->helper_msg));
		r->err = err;
		if (err < 0)
			return UNMOUNT_FAILED;
		state_remove(o->mnt);
		return UNMOUNT_OK;
	}
	err = r->fuse ? umount_fuse(o->mnt, e.id, o->lazy, r->helper_msg,
				    sizeof(r->helper_msg))
		      : umount_tree(o->mnt, e.id, o->lazy);
	r->err = err;
	if (err == -ESTALE)
		return UNMOUNT_SWAPPED;
	if (err < 0)
		return UNMOUNT_FAILED;
	if (ours)
		state_remove(o->mnt);
	if (r->fuse)
		r->daemon_left = wait_daemon(pid, start);
	return UNMOUNT_OK;
}
