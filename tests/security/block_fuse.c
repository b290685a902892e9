/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A hostile FUSE server for tests/security/test_helper_redteam2.py: a
 * root directory (mode 0700) with one directory "m", both owned by the
 * server's uid, no caching. Once the file named by $BLOCK_FUSE_FILE holds
 * a number N, the next N lookups are answered and every one after them
 * is never answered (as an attacker's server may do). With
 * $BLOCK_FUSE_GETATTR set, no GETATTR is answered either, not even the
 * root's.
 *   cc block_fuse.c $(pkg-config --cflags --libs fuse3)
 *   BLOCK_FUSE_FILE=F ./a.out -f -o allow_other MNT
 */
#define FUSE_USE_VERSION 34
#include <errno.h>
#include <fuse_lowlevel.h>
#include <stdio.h>
#include <stdlib.h>
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
	st->st_mode = S_IFDIR | (ino == 1 ? 0700 : 0755);
	st->st_nlink = 2;
}

static void bf_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	static int passes = -1;
	const char *f = getenv("BLOCK_FUSE_FILE");
	FILE *bf = f ? fopen(f, "r") : NULL;
	struct fuse_entry_param e;

	if (bf) {
		if (passes < 0 && fscanf(bf, "%d", &passes) != 1)
			passes = 0;
		fclose(bf);
		if (passes-- <= 0)
			for (;;)
				pause();
	}
	if (parent != 1 || strcmp(name, "m")) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	memset(&e, 0, sizeof(e));
	e.ino = 2;
	fill(2, &e.attr);
	fuse_reply_entry(req, &e);
}

static void bf_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct stat st;

	(void)fi;
	if (getenv("BLOCK_FUSE_GETATTR"))
		for (;;)
			pause();
	if (ino != 1 && ino != 2) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	fill(ino, &st);
	fuse_reply_attr(req, &st, 0.0);
}

static const struct fuse_lowlevel_ops ops = {
	.lookup = bf_lookup,
	.getattr = bf_getattr,
};

int main(int argc, char *argv[])
{
	return test_fuse_main(argc, argv, &ops, sizeof(ops), 0);
}
