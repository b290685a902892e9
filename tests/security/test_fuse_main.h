/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * main() of the test FUSE servers (block_fuse.c, block_all_fuse.c,
 * fault_fuse.c): parse libfuse's command line, mount, serve until
 * unmounted or signalled. threads 0: one thread; else a multithreaded
 * loop of at most that many (on the one /dev/fuse fd).
 * Exit status 0, 1 (the loop failed) or 2 (bad command line).
 */
#ifndef TEST_FUSE_MAIN_H
#define TEST_FUSE_MAIN_H

#include <fuse_lowlevel.h>

static int test_fuse_main(int argc, char *argv[],
			  const struct fuse_lowlevel_ops *ops, size_t size,
			  unsigned int threads)
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts o;
	struct fuse_session *se;
	int r = 1;

	if (fuse_parse_cmdline(&args, &o) != 0 || !o.mountpoint)
		return 2;
	se = fuse_session_new(&args, ops, size, NULL);
	if (se && fuse_set_signal_handlers(se) == 0 &&
	    fuse_session_mount(se, o.mountpoint) == 0) {
		if (!threads) {
			r = fuse_session_loop(se);
		} else {
			struct fuse_loop_config *c = fuse_loop_cfg_create();

			fuse_loop_cfg_set_max_threads(c, threads);
			r = fuse_session_loop_mt(se, c);
			fuse_loop_cfg_destroy(c);
		}
		fuse_session_unmount(se);
	}
	return r ? 1 : 0;
}

#endif
