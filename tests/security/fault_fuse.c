/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A hostile FUSE server for tests/security/test_loop_redteam_lockhold.py:
 * a root directory with one regular file "f" (64 KiB, mode 0644, owned by
 * the server's uid) whose data is never given: LOOKUP, GETATTR and OPEN
 * are answered, READ never is. A process that mmap()s f and hands the
 * mapping to a system call as its buffer sleeps in the page fault, inside
 * that system call, for as long as the server lives (SIGKILL of the server
 * ends it): whatever locks the system call holds stay held.
 *   cc fault_fuse.c $(pkg-config --cflags --libs fuse3)
 *   ./a.out -f MNT
 */
#define FUSE_USE_VERSION 34
#include <errno.h>
#include <fuse_lowlevel.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_fuse_main.h"

static void fill(fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_uid = getuid();
	st->st_gid = getgid();
	if (ino == 1) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
	} else {
		st->st_mode = S_IFREG | 0644;
		st->st_nlink = 1;
		st->st_size = 65536;
	}
}

static void ff_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;

	if (parent != 1 || strcmp(name, "f")) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	memset(&e, 0, sizeof(e));
	e.ino = 2;
	e.attr_timeout = e.entry_timeout = 3600;
	fill(2, &e.attr);
	fuse_reply_entry(req, &e);
}

static void ff_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct stat st;

	(void)fi;
	if (ino != 1 && ino != 2) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	fill(ino, &st);
	fuse_reply_attr(req, &st, 3600);
}

static void ff_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (ino != 2) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	fi->keep_cache = 1;
	fuse_reply_open(req, fi);
}

static void ff_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	(void)req, (void)ino, (void)size, (void)off, (void)fi;
	for (;;)
		pause(); /* never answered */
}

static const struct fuse_lowlevel_ops ops = {
	.lookup = ff_lookup,
	.getattr = ff_getattr,
	.open = ff_open,
	.read = ff_read,
};

int main(int argc, char *argv[])
{
	/* multithreaded: the READs never answered hold only their own
	 * thread, later OPENs are still answered */
	return test_fuse_main(argc, argv, &ops, sizeof(ops), 64);
}
