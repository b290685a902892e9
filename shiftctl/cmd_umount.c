/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shiftctl umount: take down a shifted mount of either backend, and only
 * ours (or with --force any fuse.shiftfs or idmapped mount). The verb:
 * options and messages; the mount engine (mount.h, mount/unmount.c)
 * identifies the mount by its mount id and unmounts it through a verified
 * fd, so that what is unmounted is the mount that was checked.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mount.h"
#include "shiftctl.h"

enum { OPT_LAZY = OPT_VERB_FIRST, OPT_FORCE };

/* clang-format off */
static const struct opt_def umount_defs[] = {
	{"lazy", no_argument, 'l',
	 " -l, --lazy                 detach now, clean up when no longer busy\n"},
	{"force", no_argument, OPT_FORCE,
	 "     --force                also a fuse.shiftfs or idmapped mount\n"
	 "                              that shiftctl did not record\n"},
	OPT_DEF_HELP,
	OPT_DEF_END,
};
/* clang-format on */

static const struct opt_group umount_group = {"Options:", umount_defs};
static const struct opt_group *const groups[] = {&umount_group, NULL};

static void usage(void)
{
	printf("\nUsage:\n %s umount [options] MNT\n", program_name);
	fputs("\nUnmount a shifted mount made by shiftctl mount (a shiftfs "
	      "FUSE\n"
	      "mount or a recorded idmapped mount) and forget its record.\n",
	      stdout);
	opts_help(stdout, groups);
	fputs("\nExit status: 0 unmounted, 1 failure (not ours, busy, not\n"
	      "mounted), 2 usage error.\n"
	      "\nFor more details see shiftctl-mount(1).\n",
	      stdout);
}

/* Why nothing was unmounted, as the user reads it. */
static noreturn void unmount_failed(const char *mnt, enum unmount_status s,
				    const struct unmount_result *r)
{
	switch (s) {
	case UNMOUNT_NOT_MOUNTED:
		die(EXIT_FAIL, "%s is not mounted", mnt);
	case UNMOUNT_CHANGED:
		die(EXIT_FAIL,
		    "%s changed while it was being resolved (a symlink or a "
		    "rename on its path): refusing to unmount",
		    mnt);
	case UNMOUNT_NOT_SHIFTED:
		die(EXIT_FAIL,
		    "%s is not a shifted mount of ours (it is a %s mount of "
		    "%s); use umount(8)",
		    mnt, r->fstype, r->source);
	case UNMOUNT_NOT_RECORDED:
		die(EXIT_FAIL,
		    "%s is not a shifted mount of ours (it is a %s%s mount of "
		    "%s that shiftctl mount did not record; --force unmounts "
		    "it anyway)",
		    mnt, r->fstype, r->idmapped ? " idmapped" : "", r->source);
	case UNMOUNT_SWAPPED:
		die(EXIT_FAIL,
		    "cannot unmount %s: what is mounted there changed while "
		    "it was being checked; nothing unmounted",
		    mnt);
	case UNMOUNT_FAILED:
		if (r->err == -EBUSY)
			die(EXIT_FAIL,
			    "cannot unmount %s: it is busy (a process has a "
			    "file open or its working directory there); "
			    "'%s umount --lazy %s' detaches it now",
			    mnt, program_name, sh_quote(mnt));
		if (r->helper_msg[0])
			die(EXIT_FAIL, "cannot unmount %s: %s", mnt,
			    r->helper_msg);
		die(EXIT_FAIL, "cannot unmount %s: %s", mnt, strerror(-r->err));
	default: /* UNMOUNT_LOOKUP */
		die(EXIT_FAIL, "%s: %s", mnt, strerror(-r->err));
	}
}

int cmd_umount(int argc, char **argv)
{
	struct unmount_opts o = {NULL, false, false};
	static struct unmount_result res;
	enum unmount_status s;
	char mnt[PATH_MAX];
	struct opts p;
	int c, r;

	opts_init(&p, "hl", groups);
	while ((c = opts_next(&p, argc, argv)) != -1) {
		switch (c) {
		case 'l':
			o.lazy = true;
			break;
		case OPT_FORCE:
			o.force = true;
			break;
		case 'h':
			usage();
			return EXIT_OK;
		default:
			usage_try("umount");
		}
	}
	if (argc - optind != 1)
		usage_error("umount", "give one MNT");
	r = mnt_canonical(argv[optind], mnt, sizeof(mnt));
	if (r < 0)
		die(EXIT_FAIL, "%s: %s", argv[optind], strerror(-r));
	o.mnt = mnt;
	s = mount_unmount(&o, &res);
	if (s != UNMOUNT_OK)
		unmount_failed(mnt, s, &res);
	if (res.daemon_left)
		warn("shiftfs daemon %d still running after the unmount; "
		     "sending SIGTERM",
		     (int)res.daemon_left);
	printf("%s: unmounted %s (%s)\n", program_name, mnt,
	       res.fuse ? "fuse" : "idmap");
	return EXIT_OK;
}
