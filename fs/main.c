/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shiftfs: show a source directory at a mount point with every owner shifted
 * through an id map (DESIGN.md). Options (a fuse_opt table), the id map
 * (lib layout_build()), the FUSE session and its multi-threaded loop, and an
 * ordered teardown. The ops live in ops_*.c.
 */
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdnoreturn.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <fuse_lowlevel.h>

#include "fs.h"
#include "idmap_parse.h"
#include "layout.h"
#include "log.h"
#include "parse_int.h"
#include "passwd.h"

#define SFS_MAX_WRITE (1024u * 1024u)
#define SFS_FD_CACHE_MAX (1024u * 1024u)
#define SFS_IDENTITY_SPEC "0:0:4294967295"

#define SFS_OPT(t, p, v)                                                       \
	{                                                                      \
		t, offsetof(struct sfs, p), v                                  \
	}

/* Keys of the map options: opt_proc() then knows which one came last. */
enum { SFS_KEY_UIDMAP = 1, SFS_KEY_GIDMAP, SFS_KEY_MAP };

static const struct fuse_opt sfs_opts[] = {
	SFS_OPT("uidmap=%s", uidmap, 0),
	FUSE_OPT_KEY("uidmap=", SFS_KEY_UIDMAP),
	SFS_OPT("gidmap=%s", gidmap, 0),
	FUSE_OPT_KEY("gidmap=", SFS_KEY_GIDMAP),
	SFS_OPT("map=%s", map, 0),
	FUSE_OPT_KEY("map=", SFS_KEY_MAP),
	SFS_OPT("identity", identity, 1),
	SFS_OPT("rootless=%s", rootless, 0),
	SFS_OPT("rootless", rootless_self, 1),
	SFS_OPT("userns_remap=%s", userns_remap, 0),
	SFS_OPT("pid=%s", pid, 0),
	SFS_OPT("subuid_file=%s", subuid_file, 0),
	SFS_OPT("subgid_file=%s", subgid_file, 0),
	SFS_OPT("owner=%s", owner, 0),
	SFS_OPT("user=%s", user, 0),
	SFS_OPT("overflow_uid=%s", overflow_uid, 0),
	SFS_OPT("overflow_gid=%s", overflow_gid, 0),
	SFS_OPT("cache=%s", cache_opt, 0),
	SFS_OPT("writeback", writeback, 1),
	SFS_OPT("nopassthrough", nopassthrough, 1),
	SFS_OPT("max_write=%s", max_write_opt, 0),
	SFS_OPT("fd_cache=%s", fd_cache_opt, 0),
	SFS_OPT("stats_file=%s", stats_file, 0),
	SFS_OPT("spin=%s", spin_opt, 0),
	/* Recorded here and kept for the mount itself. */
	SFS_OPT("suid", suid, 1),
	FUSE_OPT_KEY("suid", FUSE_OPT_KEY_KEEP),
	SFS_OPT("dev", dev, 1),
	FUSE_OPT_KEY("dev", FUSE_OPT_KEY_KEEP),
	SFS_OPT("allow_other", allow_other, 1),
	FUSE_OPT_KEY("allow_other", FUSE_OPT_KEY_KEEP),
	FUSE_OPT_END,
};

static struct fuse_lowlevel_ops sfs_ops = {
	.init = sfs_init,
	.destroy = sfs_destroy,
	.lookup = sfs_lookup,
	.forget = sfs_forget,
	.forget_multi = sfs_forget_multi,
	.getattr = sfs_getattr,
	.setattr = sfs_setattr,
	.readlink = sfs_readlink,
	.mknod = sfs_mknod,
	.mkdir = sfs_mkdir,
	.symlink = sfs_symlink,
	.link = sfs_link,
	.unlink = sfs_unlink,
	.rmdir = sfs_rmdir,
	.rename = sfs_rename,
	.opendir = sfs_opendir,
	.readdir = sfs_readdir,
	.readdirplus = sfs_readdirplus,
	.releasedir = sfs_releasedir,
	.fsyncdir = sfs_fsyncdir,
	.create = sfs_create,
	.open = sfs_open,
	.release = sfs_release,
	.flush = sfs_flush,
	.fsync = sfs_fsync,
	.read = sfs_read,
	.write_buf = sfs_write_buf,
	.statfs = sfs_statfs,
	.fallocate = sfs_fallocate,
	.copy_file_range = sfs_copy_file_range,
	.lseek = sfs_lseek,
	.getxattr = sfs_getxattr,
	.setxattr = sfs_setxattr,
	.listxattr = sfs_listxattr,
	.removexattr = sfs_removexattr,
	.ioctl = sfs_ioctl,
};

static void want(struct fuse_conn_info *conn, unsigned int cap)
{
	if (conn->capable & cap)
		conn->want |= cap;
}

void sfs_init(void *userdata, struct fuse_conn_info *conn)
{
	struct sfs *fs = userdata;

	want(conn, FUSE_CAP_PARALLEL_DIROPS);
	want(conn, FUSE_CAP_ASYNC_DIO);
	want(conn, FUSE_CAP_READDIRPLUS);
	want(conn, FUSE_CAP_SPLICE_READ);
	want(conn, FUSE_CAP_SPLICE_WRITE);
	want(conn, FUSE_CAP_SPLICE_MOVE);
	/* lsattr/chattr on directories too (ops_ioctl.c) */
	want(conn, FUSE_CAP_IOCTL_DIR);
	/* The kernel checks ACLs on view attributes; we apply the umask. */
	want(conn, FUSE_CAP_POSIX_ACL);
	want(conn, FUSE_CAP_DONT_MASK);
	if (fs->cache != SFS_CACHE_ALWAYS)
		want(conn, FUSE_CAP_AUTO_INVAL_DATA);
	if (fs->writeback)
		want(conn, FUSE_CAP_WRITEBACK_CACHE);
	else
		conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	/*
	 * Killpriv v2 (killpriv.c): the kernel no longer asks GETXATTR
	 * security.capability before each write nor clears setuid/setgid
	 * itself; sfs_killpriv() does it with the native rule. Not v1: it
	 * keeps the GETXATTR and has the server kill even for CAP_FSETID.
	 */
	conn->want &= ~FUSE_CAP_HANDLE_KILLPRIV;
	sfs_init_reply_arm(sfs_passthrough_init_wanted(fs));
	/*
	 * Nor atomic O_TRUNC (a libfuse default): an O_TRUNC open is OPEN
	 * then SETATTR(size), where sfs_killpriv() applies: one request more.
	 */
	conn->want &= ~FUSE_CAP_ATOMIC_O_TRUNC;
	/* No lock ops: the kernel keeps flock and POSIX locks locally. */
	conn->want &= ~(FUSE_CAP_FLOCK_LOCKS | FUSE_CAP_POSIX_LOCKS);
	conn->max_write = fs->max_write;
	if (!(conn->capable & FUSE_CAP_POSIX_ACL))
		shift_log(SHIFT_LOG_WARNING,
			  "kernel lacks FUSE POSIX ACL support: ACLs are not "
			  "enforced on the mount");
}

void sfs_destroy(void *userdata)
{
	(void)userdata;
}

static void usage(const char *prog)
{
	printf("usage: %s SRC MNT [-f] [-d] [-s] [-o OPT[,OPT...]]\n"
	       "\n"
	       "Show SRC at MNT with every owner shifted through an id map.\n"
	       "\n"
	       "Map (exactly one source; see shiftfs(8)):\n"
	       "    -o uidmap=SPEC         uid ranges DISK:VIEW:COUNT[:...]\n"
	       "    -o gidmap=SPEC         gid ranges\n"
	       "    -o map=SPEC            both\n"
	       "    -o identity            every id as itself\n"
	       "    -o rootless[=USER]     podman/rootless docker layout\n"
	       "    -o userns_remap=USER[:GROUP]  docker userns-remap layout\n"
	       "    -o pid=PID             maps of a running process\n"
	       "    -o subuid_file=F       instead of /etc/subuid\n"
	       "    -o subgid_file=F       instead of /etc/subgid\n"
	       "    -o owner=H[:G]         owner mode: host owner of the data\n"
	       "    -o user=C[:G]          owner mode: container user\n"
	       "\n"
	       "Other:\n"
	       "    -o cache=auto|always|never  caching (default auto)\n"
	       "    -o writeback           enable the writeback cache (no "
	       "passthrough then)\n"
	       "    -o nopassthrough       no FUSE passthrough of file data\n"
	       "    -o spin=US             look for the next request for US "
	       "microseconds\n"
	       "                           before sleeping (default %u; 0: "
	       "never)\n"
	       "    -o max_write=N         largest write request (default "
	       "1048576)\n"
	       "    -o fd_cache=N          at most N cached inode fds (default "
	       "4096; 0: one fd per cached inode)\n"
	       "    -o stats_file=PATH     write request counts there on "
	       "SIGUSR1\n"
	       "    -o suid, -o dev        allow setuid files, device nodes\n"
	       "    -o ro                  read-only\n"
	       "    -o allow_other         others may access (automatic as "
	       "root)\n"
	       "    -f                     foreground, log to stderr\n"
	       "    -d                     debug: log every request\n"
	       "    -s                     single-threaded\n"
	       "    -h, --help             this help\n"
	       "    -V, --version          version\n"
	       "\n"
	       "FUSE options:\n",
	       prog, SFS_SPIN_DEFAULT);
	fuse_cmdline_help();
	fuse_lowlevel_help();
	printf("\nFor more details see shiftfs(8).\n");
}

/* Option errors: one line naming the option, exit 1, nothing mounted. */
static noreturn void __attribute__((format(printf, 1, 2)))
opt_error(const char *fmt, ...)
{
	va_list ap;

	fputs("shiftfs: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void check_spec(const char *opt, const char *spec)
{
	struct shift_diag d = {""};
	static struct idmap scratch;

	if (!spec)
		return;
	idmap_init(&scratch);
	if (idmap_parse_spec(&scratch, spec, &d) < 0)
		opt_error("%s=%s: %s", opt, spec, d.msg);
}

/* opt=s, lo to hi (unit after hi in the error); def when not given. */
static uint32_t parse_bounded(const char *opt, const char *s, uint32_t lo,
			      uint32_t hi, const char *unit, uint32_t def)
{
	uint32_t v;
	int r;

	if (!s)
		return def;
	r = parse_u32(s, lo, hi, &v);
	if (r < 0)
		opt_error("%s=%s: %s (%u to %u%s)", opt, s, parse_u32_reason(r),
			  lo, hi, unit);
	return v;
}

static uint32_t parse_id(const char *opt, const char *s)
{
	uint32_t v;
	int r = parse_u32(s, 0, UINT32_MAX - 1, &v);

	if (r < 0)
		opt_error("%s=%s: %s", opt, s, parse_u32_reason(r));
	return v;
}

/*
 * overflow_uid=/overflow_gid= are gone: an unmapped disk id is reported to
 * the kernel as (uid_t)-1, which it shows as its own overflow id and never
 * matches; showing it as any other N would give the owner's rights to
 * whoever holds N. The kernel's own value is still accepted (older
 * shiftctl passes it), anything else is refused.
 */
static void check_overflow(const char *opt, const char *s, uint32_t kernel)
{
	uint32_t v;

	if (!s)
		return;
	v = parse_id(opt, s);
	if (v != kernel)
		opt_error("%s=%s: no longer supported: unmapped disk ids show "
			  "as the kernel's overflow id (%u) and match nobody; "
			  "see shiftfs(8)",
			  opt, s, kernel);
}

/* Count the map sources given; set req->kind to the (last) one. */
static int map_sources(struct sfs *fs, struct layout_req *req)
{
	int n = 0;

	if (fs->uidmap || fs->gidmap || fs->map) {
		n++;
		req->kind = LAYOUT_EXPLICIT;
		req->map_spec = fs->map;
		req->uid_spec = fs->uidmap;
		req->gid_spec = fs->gidmap;
	}
	if (fs->identity) {
		n++;
		req->kind = LAYOUT_EXPLICIT;
		req->map_spec = SFS_IDENTITY_SPEC;
	}
	if (fs->rootless || fs->rootless_self) {
		n++;
		req->kind = LAYOUT_ROOTLESS;
		req->user = fs->rootless;
	}
	if (fs->userns_remap) {
		n++;
		req->kind = LAYOUT_USERNS_REMAP;
		req->user = fs->userns_remap;
	}
	if (fs->pid) {
		uint32_t pid;
		int r = parse_u32(fs->pid, 1, INT32_MAX, &pid);

		if (r < 0)
			opt_error("pid=%s: %s", fs->pid, parse_u32_reason(r));
		n++;
		req->kind = LAYOUT_PID;
		req->pid = (pid_t)pid;
	}
	return n;
}

static void owner_mode(struct sfs *fs, struct layout_req *req)
{
	struct shift_diag d = {""};

	if (!fs->owner && !fs->user)
		return;
	if (!fs->owner || !fs->user)
		opt_error("%s: owner mode needs both owner=H[:G] and "
			  "user=C[:G]",
			  fs->owner ? "owner" : "user");
	if (passwd_resolve_pair("/etc/passwd", "/etc/group", fs->owner,
				&req->owner_uid, &req->owner_gid, &d) < 0)
		opt_error("owner=%s: %s", fs->owner, d.msg);
	d.msg[0] = '\0';
	if (passwd_resolve_pair(NULL, NULL, fs->user, &req->user_uid,
				&req->user_gid, &d) < 0)
		opt_error("user=%s: %s", fs->user, d.msg);
	req->owner_mode = true;
	if (req->kind != LAYOUT_NONE)
		return;
	/*
	 * No layout: that of the daemon's user's containers. An unprivileged
	 * user's are rootless (its own subordinate ranges); root's run without
	 * a user namespace, container uid C being host uid C (rootless=root
	 * asks for root's subordinate ranges instead).
	 */
	if (geteuid() == 0) {
		req->kind = LAYOUT_EXPLICIT;
		req->map_spec = SFS_IDENTITY_SPEC;
	} else {
		req->kind = LAYOUT_ROOTLESS;
	}
}

/* The option that named the map source, for error messages. */
static void source_option(const struct sfs *fs, const struct layout_req *req,
			  char *buf, size_t len)
{
	switch (req->kind) {
	case LAYOUT_ROOTLESS:
		snprintf(buf, len, "rootless%s%s", fs->rootless ? "=" : "",
			 fs->rootless ? fs->rootless : "");
		break;
	case LAYOUT_USERNS_REMAP:
		snprintf(buf, len, "userns_remap=%s", fs->userns_remap);
		break;
	case LAYOUT_PID:
		snprintf(buf, len, "pid=%s", fs->pid);
		break;
	default:
		snprintf(buf, len, "%s", fs->identity ? "identity" : "map");
		break;
	}
}

static void build_maps(struct sfs *fs)
{
	struct layout_req req;
	struct shift_diag d = {""};

	memset(&req, 0, sizeof(req));
	if (map_sources(fs, &req) > 1)
		opt_error("give one map source: uidmap=/gidmap=, map=, "
			  "identity, rootless, userns_remap= or pid=");
	check_spec("uidmap", fs->uidmap);
	check_spec("gidmap", fs->gidmap);
	check_spec("map", fs->map);
	if (req.kind == LAYOUT_EXPLICIT && !fs->map && !fs->identity &&
	    (!fs->uidmap || !fs->gidmap))
		opt_error("%s: give map=, or both uidmap= and gidmap=",
			  fs->uidmap ? "gidmap missing" : "uidmap missing");
	owner_mode(fs, &req);
	if (req.kind == LAYOUT_NONE)
		opt_error("no id map: give uidmap= and gidmap=, map=, "
			  "identity, rootless, userns_remap= or pid=");
	req.subuid_path = fs->subuid_file;
	req.subgid_path = fs->subgid_file;
	if (layout_build(&req, &fs->maps, &d) < 0) {
		char opt[256];

		source_option(fs, &req, opt, sizeof(opt));
		opt_error("%s: %s", opt, d.msg);
	}
	check_overflow("overflow_uid", fs->overflow_uid, fs->maps.overflow_uid);
	check_overflow("overflow_gid", fs->overflow_gid, fs->maps.overflow_gid);
}

static void parse_other(struct sfs *fs)
{
	if (!fs->cache_opt || strcmp(fs->cache_opt, "auto") == 0)
		fs->cache = SFS_CACHE_AUTO;
	else if (strcmp(fs->cache_opt, "always") == 0)
		fs->cache = SFS_CACHE_ALWAYS;
	else if (strcmp(fs->cache_opt, "never") == 0)
		fs->cache = SFS_CACHE_NEVER;
	else
		opt_error("cache=%s: expected auto, always or never",
			  fs->cache_opt);
	fs->timeout = fs->cache == SFS_CACHE_ALWAYS  ? 86400.0
		      : fs->cache == SFS_CACHE_NEVER ? 0.0
						     : 1.0;
	fs->max_write = parse_bounded("max_write", fs->max_write_opt, 4096,
				      SFS_MAX_WRITE, "", SFS_MAX_WRITE);
	fs->spin_us = parse_bounded("spin", fs->spin_opt, 0, SFS_SPIN_MAX,
				    " microseconds", SFS_SPIN_DEFAULT);
	fs->fd_cache =
		parse_bounded("fd_cache", fs->fd_cache_opt, 0, SFS_FD_CACHE_MAX,
			      "", SFS_FD_CACHE_DEFAULT);
	if (fs->stats_file && fs->stats_file[0] != '/')
		opt_error("stats_file=%s: not an absolute path",
			  fs->stats_file);
#ifdef SHIFT_TEST_HOOKS
	fs->test_fail_after_create =
		getenv("SHIFTFS_TEST_FAIL_AFTER_CREATE") &&
		strcmp(getenv("SHIFTFS_TEST_FAIL_AFTER_CREATE"), "1") == 0;
	if (getenv("SHIFTFS_TEST_CREATE_PAUSE_MS"))
		fs->test_create_pause_ms =
			(unsigned)atoi(getenv("SHIFTFS_TEST_CREATE_PAUSE_MS"));
#endif
}

/* Only digits and colons, starting with a digit: "65536:1000:1". */
static bool is_range_text(const char *s)
{
	if (*s < '0' || *s > '9')
		return false;
	return s[strspn(s, "0123456789:")] == '\0';
}

/*
 * fuse_opt splits -o on commas, so "map=0:1:65536,65536:1000:1" arrives as
 * "map=0:1:65536" and "65536:1000:1": a range right after a map option
 * (and never an option name, which starts with a letter) continues it.
 */
static int append_range(char **spec, const char *arg)
{
	size_t n = strlen(*spec);
	char *s = realloc(*spec, n + strlen(arg) + 2);

	if (!s)
		opt_error("out of memory");
	s[n] = ',';
	strcpy(s + n + 1, arg);
	*spec = s;
	return 0;
}

/* The first non-option argument is SRC; MNT goes on to libfuse. */
static int opt_proc(void *data, const char *arg, int key,
		    struct fuse_args *outargs)
{
	static char **last_spec;
	struct sfs *fs = data;

	(void)outargs;
	switch (key) {
	case SFS_KEY_UIDMAP:
		last_spec = &fs->uidmap;
		return 0;
	case SFS_KEY_GIDMAP:
		last_spec = &fs->gidmap;
		return 0;
	case SFS_KEY_MAP:
		last_spec = &fs->map;
		return 0;
	case FUSE_OPT_KEY_OPT:
		if (last_spec && *last_spec && is_range_text(arg))
			return append_range(last_spec, arg);
		last_spec = NULL;
		return 1;
	}
	last_spec = NULL;
	if (key == FUSE_OPT_KEY_NONOPT && !fs->source) {
		fs->source = strdup(arg);
		if (!fs->source)
			opt_error("out of memory");
		return 0;
	}
	return 1;
}

static void open_source(struct sfs *fs)
{
	struct stat st;
	char *real;

	fs->root.fd = open(fs->source, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fs->root.fd < 0)
		opt_error("%s: %s", fs->source, strerror(errno));
	if (fstat(fs->root.fd, &st) < 0)
		opt_error("%s: %s", fs->source, strerror(errno));
	fs->root.dev = st.st_dev;
	fs->root.ino = st.st_ino;
	if (sfs_mount_id(fs->root.fd, &fs->root_mnt_id) < 0)
		fs->root_mnt_id = -1;
	fs->root.nlookup = 2;
	fs->root.slot = -1;
	fs->root.flags = SFS_INODE_KEEP | SFS_INODE_HASHED;
	real = realpath(fs->source, NULL);
	if (real) {
		free(fs->source);
		fs->source = real;
	}
}

/* "-o fsname=SRC" with ',' and '\' escaped for fuse_opt. */
static int add_fsname(struct fuse_args *args, const char *src)
{
	size_t n = strlen(src), i, j = 0;
	char *opt = malloc(2 * n + sizeof("fsname="));
	int r;

	if (!opt)
		return -1;
	j = (size_t)sprintf(opt, "fsname=");
	for (i = 0; i < n; i++) {
		if (src[i] == ',' || src[i] == '\\')
			opt[j++] = '\\';
		opt[j++] = src[i];
	}
	opt[j] = '\0';
	r = fuse_opt_add_arg(args, "-o");
	if (r == 0)
		r = fuse_opt_add_arg(args, opt);
	free(opt);
	return r;
}

static void add_mount_options(struct sfs *fs, struct fuse_args *args)
{
	bool ok = add_fsname(args, fs->source) == 0 &&
		  fuse_opt_add_arg(args, "-osubtype=shiftfs") == 0 &&
		  fuse_opt_add_arg(args, "-odefault_permissions") == 0;

	if (ok && geteuid() == 0 && !fs->allow_other)
		ok = fuse_opt_add_arg(args, "-oallow_other") == 0;
	if (!ok)
		opt_error("out of memory");
}

/*
 * Open files and directories (and, without file handles, one O_PATH fd per
 * cached inode) need fds: take the whole hard limit, and keep the fd cache
 * at most half of it.
 */
static void raise_nofile(struct sfs *fs)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && fs->fd_cache > rl.rlim_cur / 2) {
		fs->fd_cache = rl.rlim_cur / 2;
		shift_log(SHIFT_LOG_INFO,
			  "fd_cache lowered to %zu (half of RLIMIT_NOFILE)",
			  fs->fd_cache);
	}
}

/*
 * libfuse's messages, into our log. libfuse sometimes builds one line from
 * several calls, so text is gathered per thread until its newline.
 */
static void __attribute__((format(printf, 2, 0)))
fuse_log_bridge(enum fuse_log_level level, const char *fmt, va_list ap)
{
	static __thread char line[1024];
	static __thread size_t used;
	enum shift_log_level l = (enum shift_log_level)level;
	int n;

	if (level < FUSE_LOG_ERR)
		l = SHIFT_LOG_ERR;
	n = vsnprintf(line + used, sizeof(line) - used, fmt, ap);
	if (n < 0)
		return;
	used += (size_t)n;
	if (used >= sizeof(line) - 1)
		used = sizeof(line) - 1;
	else if (used && line[used - 1] != '\n')
		return;
	shift_log(l, "%s", line);
	used = 0;
}

static void free_options(struct sfs *fs)
{
	char **s[] = {&fs->source,	 &fs->uidmap,	   &fs->gidmap,
		      &fs->map,		 &fs->rootless,	   &fs->userns_remap,
		      &fs->pid,		 &fs->subuid_file, &fs->subgid_file,
		      &fs->owner,	 &fs->user,	   &fs->overflow_uid,
		      &fs->overflow_gid, &fs->cache_opt,   &fs->max_write_opt,
		      &fs->fd_cache_opt, &fs->stats_file};
	size_t i;

	for (i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		free(*s[i]);
		*s[i] = NULL;
	}
}

/* Did the command line give this libfuse option (-o NAME=N)? */
static bool cmdline_has(int argc, char *argv[], const char *name)
{
	int i;

	for (i = 1; i < argc; i++)
		if (strstr(argv[i], name))
			return true;
	return false;
}

/*
 * The loop, chosen by measurement on 2 vCPUs (docs/benchmarks.md,
 * "Session loop" and "Round trips are wake-ups"): libfuse's default of up
 * to 10 workers with 4 idle wakes a different, cold worker for each
 * request of a sequential caller and was the slowest (stat with expired
 * attributes 2x, unlink 1.4x slower than with 2 workers); without clone_fd
 * the workers contend for one fd and are created and destroyed per request
 * (7x slower). So: one /dev/fuse fd per worker, as many workers as CPUs
 * this daemon may run on (at least 2), all kept, and the spinning receiver
 * of loop.c beside them. -o max_threads= / max_idle_threads= override; -s
 * is single (the receiver alone, or libfuse's loop with spin=0).
 */
static int run_loop(struct fuse_session *se, const struct sfs *fs,
		    const struct fuse_cmdline_opts *opts, int argc,
		    char *argv[])
{
	unsigned int max = opts->max_threads, idle = opts->max_idle_threads;
	cpu_set_t cpus;

	if (!cmdline_has(argc, argv, "max_threads=")) {
		max = 2;
		if (sched_getaffinity(0, sizeof(cpus), &cpus) == 0 &&
		    CPU_COUNT(&cpus) > 2)
			max = (unsigned int)CPU_COUNT(&cpus);
	}
	if (idle == UINT_MAX || idle > max)
		idle = max;
	return sfs_loop(se, fs->spin_us, opts->singlethread, max, idle);
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts opts;
	struct fuse_session *se;
	static struct sfs fs;
	int ret = 1;

	shift_log_set_prog("shiftfs");
	fuse_set_log_func(fuse_log_bridge);
	fs.root.fd = -1;
	memset(&opts, 0, sizeof(opts));

	if (fuse_opt_parse(&args, &fs, sfs_opts, opt_proc) != 0)
		goto out_args;
	if (fuse_parse_cmdline(&args, &opts) != 0)
		goto out_args;
	if (opts.show_help) {
		usage(argv[0]);
		ret = 0;
		goto out_args;
	}
	if (opts.show_version) {
		printf("shiftfs %s\n", SHIFT_VERSION);
		printf("FUSE library version %s\n", fuse_pkgversion());
		/* It runs fusermount3 -V, whose line must come after ours. */
		fflush(stdout);
		fuse_lowlevel_version();
		ret = 0;
		goto out_args;
	}
	if (!fs.source || !opts.mountpoint)
		opt_error("missing %s (usage: shiftfs SRC MNT [-o OPT...]; "
			  "see --help)",
			  fs.source ? "MNT" : "SRC and MNT");
	fs.debug = opts.debug;
	if (opts.debug)
		shift_log_set_level(SHIFT_LOG_DEBUG);

	build_maps(&fs);
	parse_other(&fs);
	open_source(&fs);
	add_mount_options(&fs, &args);
	raise_nofile(&fs);
	if (sfs_table_init(&fs.table, fs.fd_cache) < 0)
		opt_error("out of memory");
	sfs_table_setup(&fs);
	sfs_creds_setup(&fs);
	sfs_flush_setup(&fs);
	sfs_passthrough_setup(&fs);
	/* Modes arrive unmasked (DONT_MASK): creds.c applies the caller's. */
	umask(0);

	sfs_stats_wrap(&sfs_ops);
	se = fuse_session_new(&args, &sfs_ops, sizeof(sfs_ops), &fs);
	if (!se)
		goto out_table;
	fs.se = se;
	if (fuse_set_signal_handlers(se) != 0)
		goto out_session;
	if (fuse_session_mount(se, opts.mountpoint) != 0)
		goto out_signals;
	if (!opts.foreground) {
		openlog("shiftfs", LOG_PID, LOG_DAEMON);
		shift_log_set_sink(shift_log_syslog_sink);
	}
	if (fs.creds == SFS_CREDS_UNPRIV)
		shift_log(SHIFT_LOG_DEBUG,
			  "running without CAP_CHOWN/CAP_SETUID: new files "
			  "can only be owned by disk uid %u",
			  (unsigned int)fs.euid);
	fuse_daemonize(opts.foreground);
	if (sfs_stats_start(fs.stats_file) < 0)
		shift_log(SHIFT_LOG_NOTICE, "no request counter on SIGUSR1");

	/* A positive result is the signal that ended the loop: clean. */
	ret = run_loop(se, &fs, &opts, argc, argv) < 0 ? 1 : 0;

	if (!sfs_loop_quiesce())
		sfs_loop_abandon(ret); /* the mount stays, answering ENOTCONN */
	fuse_session_unmount(se);
	if (!sfs_loop_finish() || !sfs_direct_finish() || !sfs_lease_finish())
		return ret; /* a thread still uses it all: exit frees it */
out_signals:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
out_table:
	sfs_table_free(&fs.table);
out_args:
	if (fs.root.fd >= 0)
		close(fs.root.fd);
	free(opts.mountpoint);
	fuse_opt_free_args(&args);
	free_options(&fs);
	return ret;
}
