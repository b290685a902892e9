/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kernel idmapped-mount backend: clone SRC's mount tree with
 * open_tree(OPEN_TREE_CLONE|AT_RECURSIVE) of the checked SRC fd, attach a
 * user namespace that carries the id map with
 * mount_setattr(MOUNT_ATTR_IDMAP), and move the detached tree onto the
 * checked MNT fd. The user namespace is made by a short-lived child
 * (unshare(CLONE_NEWUSER)) whose maps we write from outside, as
 * util-linux's mount(8) X-mount.idmap= does.
 *
 * Recursion: the clone includes SRC's submounts, so the view matches the
 * FUSE backend, whose daemon crosses into them too. If any submount's
 * filesystem cannot be idmapped, mount_setattr fails with EINVAL and
 * --backend=auto falls back to FUSE.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "idmount.h"

static int write_proc(pid_t pid, const char *file, const char *text)
{
	char path[64];
	_cleanup_close_ int fd = -1;
	size_t len = strlen(text);

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* A map must be written in one write(2). */
	if (write(fd, text, len) != (ssize_t)len)
		return errno ? -errno : -EIO;
	return 0;
}

static int write_maps(pid_t pid, const struct idmaps *m, struct shift_diag *d)
{
	static char buf[IDMAP_MAX_RANGES * 36];
	int r;

	if (idmap_format(&m->uid, buf, sizeof(buf)) >= sizeof(buf))
		return shift_diag_set(d, E2BIG, "uid map too long");
	r = write_proc(pid, "uid_map", buf);
	if (r < 0)
		return shift_diag_set(d, -r, "writing uid_map: %s",
				      strerror(-r));
	r = write_proc(pid, "setgroups", "deny");
	if (r < 0)
		return shift_diag_set(d, -r, "writing setgroups: %s",
				      strerror(-r));
	if (idmap_format(&m->gid, buf, sizeof(buf)) >= sizeof(buf))
		return shift_diag_set(d, E2BIG, "gid map too long");
	r = write_proc(pid, "gid_map", buf);
	if (r < 0)
		return shift_diag_set(d, -r, "writing gid_map: %s",
				      strerror(-r));
	return 0;
}

/* The child: enter a new user namespace, report, wait to be released. */
__attribute__((noreturn)) static void userns_child(int ready_fd, int hold_fd)
{
	char c = unshare(CLONE_NEWUSER) == 0 ? 0 : (char)errno;

	if (write(ready_fd, &c, 1) != 1)
		_exit(1);
	/* Blocks until the parent closes its end (or dies). */
	while (read(hold_fd, &c, 1) < 0 && errno == EINTR)
		;
	_exit(0);
}

int idmount_userns_fd(const struct idmaps *m, struct shift_diag *d)
{
	int ready[2], hold[2], fd = -1, r = 0;
	char path[64], c;
	pid_t pid;

	if (m->uid.n == 0 || m->gid.n == 0)
		return shift_diag_set(d, EINVAL, "empty id map");
	if (pipe2(ready, O_CLOEXEC) < 0)
		return shift_diag_set(d, errno, "pipe: %s", strerror(errno));
	if (pipe2(hold, O_CLOEXEC) < 0) {
		r = -errno;
		close(ready[0]), close(ready[1]);
		return shift_diag_set(d, -r, "pipe: %s", strerror(-r));
	}
	pid = fork();
	if (pid < 0) {
		r = shift_diag_set(d, errno, "fork: %s", strerror(errno));
		goto out_pipes;
	}
	if (pid == 0) {
		close(ready[0]);
		close(hold[1]);
		userns_child(ready[1], hold[0]);
	}
	close(ready[1]), ready[1] = -1;
	close(hold[0]), hold[0] = -1;
	if (read(ready[0], &c, 1) != 1) {
		r = shift_diag_set(d, EIO, "user namespace helper died");
		goto out_child;
	}
	if (c) {
		r = shift_diag_set(d, c, "unshare(CLONE_NEWUSER): %s",
				   strerror(c));
		goto out_child;
	}
	r = write_maps(pid, m, d);
	if (r < 0)
		goto out_child;
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		r = shift_diag_set(d, errno, "%s: %s", path, strerror(errno));
out_child:
	close(hold[1]), hold[1] = -1;
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
out_pipes:
	if (ready[0] >= 0)
		close(ready[0]);
	if (ready[1] >= 0)
		close(ready[1]);
	if (hold[0] >= 0)
		close(hold[0]);
	if (hold[1] >= 0)
		close(hold[1]);
	return r < 0 ? r : fd;
}

int idmount_mount(int src_fd, const char *src, int mnt_fd, const char *mnt,
		  const struct idmaps *m, const struct idmount_opts *o,
		  enum idmount_stage *stage, struct shift_diag *d)
{
	_cleanup_close_ int userns = -1, tree = -1;
	int r;
	struct mount_attr attr = {0};

	*stage = IDMOUNT_USERNS;
	userns = idmount_userns_fd(m, d);
	if (userns < 0)
		return userns;

	*stage = IDMOUNT_OPEN;
	tree = open_tree(src_fd, "",
			 AT_EMPTY_PATH | OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
				 AT_RECURSIVE);
	if (tree < 0)
		return shift_diag_set(d, errno, "open_tree(%s): %s", src,
				      strerror(errno));

	*stage = IDMOUNT_SETATTR;
	attr.attr_set = MOUNT_ATTR_IDMAP;
	if (o->read_only)
		attr.attr_set |= MOUNT_ATTR_RDONLY;
	if (!o->suid)
		attr.attr_set |= MOUNT_ATTR_NOSUID;
	if (!o->dev)
		attr.attr_set |= MOUNT_ATTR_NODEV;
	attr.userns_fd = (uint64_t)userns;
	if (mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr,
			  sizeof(attr)) < 0)
		return shift_diag_set(d, errno, "mount_setattr(%s, IDMAP): %s",
				      src, strerror(errno));

	*stage = IDMOUNT_MOVE;
	if (move_mount(tree, "", mnt_fd, "",
		       MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return shift_diag_set(d, errno, "move_mount(%s): %s", mnt,
				      strerror(errno));
	r = tree;
	tree = -1;
	return r;
}

bool idmount_unsupported(enum idmount_stage stage, int err, char *why,
			 size_t len)
{
	if (err == ENOSYS) {
		snprintf(why, len, "the kernel has no idmapped mounts");
		return true;
	}
	if (err == EPERM && stage == IDMOUNT_SETATTR) {
		/* Root gets here when SRC is itself an idmapped mount. */
		snprintf(why, len,
			 "the kernel does not allow idmapping this source (it "
			 "is already idmapped, or this is not permitted)");
		return true;
	}
	if (err == EPERM) {
		snprintf(why, len,
			 "idmapped mounts need CAP_SYS_ADMIN (not permitted)");
		return true;
	}
	if (stage == IDMOUNT_SETATTR &&
	    (err == EINVAL || err == EOPNOTSUPP || err == ENOTSUP)) {
		snprintf(why, len,
			 "the source filesystem (or a submount) does not "
			 "support idmapped mounts");
		return true;
	}
	if (stage == IDMOUNT_USERNS && (err == EINVAL || err == ENOSPC)) {
		snprintf(why, len,
			 "the kernel refused the map for a user "
			 "namespace");
		return true;
	}
	return false;
}
