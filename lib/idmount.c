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
#include <sys/socket.h>
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

/*
 * The child: enter a new user namespace, open its own ns file (a process
 * may always open its own, where opening another's needs ptrace access,
 * which a non-dumpable caller such as a file-capability helper lacks) and
 * send it over sock, then wait for the parent to close sock.
 */
__attribute__((noreturn)) static void userns_child(int sock)
{
	char c = 0, cbuf[CMSG_SPACE(sizeof(int))] = {0};
	struct iovec iov = {&c, 1};
	struct msghdr msg = {0};
	struct cmsghdr *cm;
	int fd = -1;

	if (unshare(CLONE_NEWUSER) < 0)
		c = (char)errno;
	else if ((fd = open("/proc/self/ns/user", O_RDONLY | O_CLOEXEC)) < 0)
		c = (char)errno;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (fd >= 0) {
		msg.msg_control = cbuf;
		msg.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	if (sendmsg(sock, &msg, MSG_NOSIGNAL) != 1)
		_exit(1);
	/* Blocks until the parent closes its end (or dies). */
	while (read(sock, &c, 1) < 0 && errno == EINTR)
		;
	_exit(0);
}

/* The child's status byte and, when it is 0, its ns fd in *fd. */
static int recv_userns(int sock, int *fd)
{
	char c, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {&c, 1};
	struct msghdr msg = {0};
	struct cmsghdr *cm;

	*fd = -1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf;
	msg.msg_controllen = sizeof(cbuf);
	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1)
		return -EIO;
	cm = CMSG_FIRSTHDR(&msg);
	if (cm && cm->cmsg_level == SOL_SOCKET &&
	    cm->cmsg_type == SCM_RIGHTS &&
	    cm->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(fd, CMSG_DATA(cm), sizeof(int));
	if (c)
		return -c;
	return *fd >= 0 ? 0 : -EIO;
}

int idmount_userns_fd(const struct idmaps *m, struct shift_diag *d)
{
	int sv[2], fd = -1, r;
	pid_t pid;

	if (m->uid.n == 0 || m->gid.n == 0)
		return shift_diag_set(d, EINVAL, "empty id map");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return shift_diag_set(d, errno, "socketpair: %s",
				      strerror(errno));
	pid = fork();
	if (pid < 0) {
		r = shift_diag_set(d, errno, "fork: %s", strerror(errno));
		close(sv[0]), close(sv[1]);
		return r;
	}
	if (pid == 0) {
		close(sv[0]);
		userns_child(sv[1]);
	}
	close(sv[1]);
	r = recv_userns(sv[0], &fd);
	if (r == -EIO)
		shift_diag_set(d, EIO, "user namespace helper died");
	else if (r < 0)
		shift_diag_set(d, -r, "unshare(CLONE_NEWUSER): %s",
			       strerror(-r));
	else
		r = write_maps(pid, m, d);
	close(sv[0]);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	if (r < 0) {
		if (fd >= 0)
			close(fd);
		return r;
	}
	return fd;
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
				 (o->single ? 0 : AT_RECURSIVE));
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
	if (o->private_prop)
		attr.propagation = MS_PRIVATE;
	attr.userns_fd = (uint64_t)userns;
	if (mount_setattr(tree, "",
			  AT_EMPTY_PATH | (o->single ? 0 : AT_RECURSIVE), &attr,
			  sizeof(attr)) < 0)
		return shift_diag_set(d, errno, "mount_setattr(%s, IDMAP): %s",
				      src, strerror(errno));

	*stage = IDMOUNT_MOVE;
	if (o->before_move) {
		r = o->before_move(tree, o->ctx);
		if (r < 0)
			return shift_diag_set(d, -r, "%s: %s", mnt,
					      strerror(-r));
	}
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
