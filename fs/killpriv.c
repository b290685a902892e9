/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * FUSE_HANDLE_KILLPRIV_V2 with libfuse 3.14, which does not know the flag.
 *
 * Without it the kernel sends GETXATTR security.capability before every
 * write(2) (file_remove_privs() asks security_inode_need_killpriv(), and
 * killpriv v1 does not change that: measured, 10 writes -> 10 GETXATTR) and
 * clears setuid/setgid itself with SETATTR. With it the superblock is
 * SB_NOSEC, so an inode is marked S_NOSEC after its first write and later
 * writes ask nothing; the server clears privileges itself: sfs_killpriv()
 * (creds.c) on WRITE, SETATTR(size), FALLOCATE and COPY_FILE_RANGE, with
 * the native rule for the caller, and the source filesystem drops
 * security.capability on the daemon's own write as it does for any writer.
 *
 * libfuse builds the INIT reply from the capabilities it knows, so the flag
 * is added to the reply on its way to /dev/fuse. sfs_init() (called by
 * libfuse while it handles INIT, in the thread that then sends the reply)
 * arms this thread; the next writev() of that thread, if it is a successful
 * reply carrying a struct fuse_init_out, gets the flag (any writev()
 * disarms it). A kernel without killpriv v2 (< 5.11) ignores the bit and
 * keeps clearing privileges itself; sfs_killpriv() then finds nothing left.
 */
#include <linux/fuse.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fs.h"

static __thread bool init_reply_armed, init_passthrough;

void sfs_init_reply_arm(bool passthrough)
{
	init_reply_armed = true;
	init_passthrough = passthrough;
}

/*
 * Every writev() of the daemon comes here (the executable's definition
 * interposes libc's for libfuse); all but the INIT reply and the OPEN or
 * CREATE reply of a passthrough open (passthrough.c) pass unchanged.
 */
ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
	const struct fuse_out_header *h;
	struct fuse_init_out *out;

	if (sfs_passthrough_armed())
		sfs_passthrough_patch(iov, iovcnt);
	if (!init_reply_armed)
		return syscall(SYS_writev, fd, iov, iovcnt);
	init_reply_armed = false; /* the reply to INIT, or nothing */
	h = iov[0].iov_base;
	out = iovcnt == 2 ? iov[1].iov_base : NULL;
	if (out && iov[0].iov_len == sizeof(*h) && h->error == 0 &&
	    iov[1].iov_len == sizeof(*out) &&
	    h->len == sizeof(*h) + sizeof(*out) &&
	    out->major == FUSE_KERNEL_VERSION) {
		out->flags |= FUSE_HANDLE_KILLPRIV_V2;
		if (init_passthrough)
			sfs_passthrough_init_reply(out);
	}
	return syscall(SYS_writev, fd, iov, iovcnt);
}
