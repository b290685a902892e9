/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A hostile FUSE server for tests/security/test_loop_redteam_lockhold.py:
 * INIT is answered (by libfuse), every other request is logged (its
 * opcode name, one line, to stderr) and never answered. Any request that
 * reaches it shows in the log.
 *   cc block_all_fuse.c $(pkg-config --cflags --libs fuse3)
 *   ./a.out -f -o allow_other MNT 2>LOG
 */
#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>
#include <stdio.h>
#include <unistd.h>

#include "test_fuse_main.h"

static void hang(const char *op)
{
	fprintf(stderr, "%s\n", op);
	fflush(stderr);
	for (;;)
		pause();
}

/* The handlers never look at what they are asked. */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#define H(name, ...) static void b_##name(__VA_ARGS__) { hang(#name); }
H(lookup, fuse_req_t r, fuse_ino_t p, const char *n)
H(forget, fuse_req_t r, fuse_ino_t i, uint64_t n)
H(getattr, fuse_req_t r, fuse_ino_t i, struct fuse_file_info *f)
H(setattr, fuse_req_t r, fuse_ino_t i, struct stat *a, int s,
  struct fuse_file_info *f)
H(readlink, fuse_req_t r, fuse_ino_t i)
H(mknod, fuse_req_t r, fuse_ino_t p, const char *n, mode_t m, dev_t d)
H(mkdir, fuse_req_t r, fuse_ino_t p, const char *n, mode_t m)
H(unlink, fuse_req_t r, fuse_ino_t p, const char *n)
H(rmdir, fuse_req_t r, fuse_ino_t p, const char *n)
H(symlink, fuse_req_t r, const char *l, fuse_ino_t p, const char *n)
H(rename, fuse_req_t r, fuse_ino_t p, const char *n, fuse_ino_t np,
  const char *nn, unsigned int f)
H(link, fuse_req_t r, fuse_ino_t i, fuse_ino_t p, const char *n)
H(open, fuse_req_t r, fuse_ino_t i, struct fuse_file_info *f)
H(opendir, fuse_req_t r, fuse_ino_t i, struct fuse_file_info *f)
H(readdir, fuse_req_t r, fuse_ino_t i, size_t s, off_t o,
  struct fuse_file_info *f)
H(readdirplus, fuse_req_t r, fuse_ino_t i, size_t s, off_t o,
  struct fuse_file_info *f)
H(statfs, fuse_req_t r, fuse_ino_t i)
H(setxattr, fuse_req_t r, fuse_ino_t i, const char *n, const char *v,
  size_t s, int f)
H(getxattr, fuse_req_t r, fuse_ino_t i, const char *n, size_t s)
H(listxattr, fuse_req_t r, fuse_ino_t i, size_t s)
H(removexattr, fuse_req_t r, fuse_ino_t i, const char *n)
H(access, fuse_req_t r, fuse_ino_t i, int m)
H(create, fuse_req_t r, fuse_ino_t p, const char *n, mode_t m,
  struct fuse_file_info *f)

static const struct fuse_lowlevel_ops ops = {
	.lookup = b_lookup, .forget = b_forget, .getattr = b_getattr,
	.setattr = b_setattr, .readlink = b_readlink, .mknod = b_mknod,
	.mkdir = b_mkdir, .unlink = b_unlink, .rmdir = b_rmdir,
	.symlink = b_symlink, .rename = b_rename, .link = b_link,
	.open = b_open, .opendir = b_opendir, .readdir = b_readdir,
	.readdirplus = b_readdirplus, .statfs = b_statfs,
	.setxattr = b_setxattr, .getxattr = b_getxattr,
	.listxattr = b_listxattr, .removexattr = b_removexattr,
	.access = b_access, .create = b_create,
};

int main(int argc, char *argv[])
{
	return test_fuse_main(argc, argv, &ops, sizeof(ops), 200);
}
