/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The FUSE backend: the shiftfs daemon. Finds the binary next to
 * /proc/self/exe (SHIFTFS only for an unprivileged caller), then as root
 * makes the mount itself (/dev/fuse, fsopen, fsconfig, fsmount), starts
 * the daemon on that connection with SRC as its checked fd, waits for its
 * FUSE_INIT answer and attaches the mount onto the MNT fd; unprivileged,
 * the daemon mounts through fusermount3 by path. A daemon that fails, or
 * a mount that cannot be made, die()s with the daemon's last log line.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "mount_int.h"
#include "mounts.h"
#include "shiftctl.h"

#define MOUNT_TIMEOUT_MS 10000

static bool fuse_conf_allows_other(void)
{
	_cleanup_fclose_ FILE *f = fopen("/etc/fuse.conf", "re");
	char line[256];

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		char *p = line + strspn(line, " \t");

		p[strcspn(p, " \t\r\n")] = '\0';
		if (!strcmp(p, "user_allow_other"))
			return true;
	}
	return false;
}

/* Running with privilege, or with ids that differ from whoever started
 * us (sudo -E, setuid): the environment is not ours to trust. */
static bool privileged(void)
{
	return geteuid() == 0 || getuid() != geteuid() || getgid() != getegid();
}

static const char *exe_if(char *buf, size_t len, const char *dir,
			  const char *rel)
{
	if ((size_t)snprintf(buf, len, "%s/%s", dir, rel) >= len)
		return NULL;
	return access(buf, X_OK) == 0 ? buf : NULL;
}

/*
 * The shiftfs binary: next to our own executable (../fs/shiftfs in a build
 * tree, shiftfs in the same directory or ../libexec/shiftfs once
 * installed), else the usual install directories, else PATH. $SHIFTFS
 * comes first only for an unprivileged user: as root (sudo -E, env_keep)
 * it would choose the program root runs, so it is ignored.
 */
static const char *find_shiftfs(void)
{
	static const char *const rel[] = {"../fs/shiftfs", "shiftfs",
					  "../libexec/shiftfs",
					  "../libexec/shiftfs/shiftfs"};
	static const char *const sys[] = {
		"/usr/local/bin/shiftfs", "/usr/bin/shiftfs",
		"/usr/local/libexec/shiftfs", "/usr/libexec/shiftfs"};
	static char buf[PATH_MAX + 32];
	const char *env = privileged() ? NULL : getenv("SHIFTFS");
	const char *hit = NULL;
	char self[PATH_MAX];
	ssize_t n;
	char *dir;
	size_t i;

	if (env && *env)
		return env;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		dir = strrchr(self, '/');
		if (dir) {
			*dir = '\0';
			for (i = 0; !hit && i < sizeof(rel) / sizeof(rel[0]);
			     i++)
				hit = exe_if(buf, sizeof(buf), self, rel[i]);
		}
	}
	for (i = 0; !hit && i < sizeof(sys) / sizeof(sys[0]); i++)
		if (access(sys[i], X_OK) == 0)
			hit = sys[i];
	return hit ? hit : "shiftfs";
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* The last non-empty line of the daemon's log. */
static void last_log_line(const char *path, char *out, size_t len)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	char line[512];

	snprintf(out, len, "(no output)");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0])
			snprintf(out, len, "%s", line);
	}
}

/* Dies: no log file: the daemon cannot be started. */
static int open_log(struct mount_result *r)
{
	int fd;

	if (state_path(r->mnt, r->log, sizeof(r->log), true) == 0) {
		strcpy(r->log + strlen(r->log) - strlen(".json"), ".log");
		fd = open(r->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			  0600);
		if (fd >= 0)
			return fd;
	}
	snprintf(r->log, sizeof(r->log), "/tmp/shiftfs-XXXXXX.log");
	fd = mkostemps(r->log, 4, O_CLOEXEC);
	if (fd < 0)
		die(EXIT_FAIL, "cannot create a log file: %s", strerror(errno));
	return fd;
}

/*
 * ",stats_file=PATH": where the daemon writes its request counts on
 * SIGUSR1 for status --stats, beside the mount's record (the state
 * directory, ours alone); "" when there is none. fuse_opt takes "\\," as
 * a comma inside an option.
 */
static void stats_opt(const char *mnt, char *buf, size_t len)
{
	char path[PATH_MAX];
	size_t o = 0, i;

	buf[0] = '\0';
	if (mount_stats_path(mnt, path, sizeof(path), true) < 0)
		return;
	o = (size_t)snprintf(buf, len, ",stats_file=");
	for (i = 0; path[i] && o + 3 < len; i++) {
		if (path[i] == ',' || path[i] == '\\')
			buf[o++] = '\\';
		buf[o++] = path[i];
	}
	buf[path[i] ? 0 : o] = '\0';
}

/* Dies: options too long for the daemon. */
static void build_fuse_opts(const struct mount_opts *o,
			    const struct mount_result *r,
			    const struct idmaps *m, char *buf, size_t len)
{
	static char u[IDMAP_MAX_RANGES * 36], g[IDMAP_MAX_RANGES * 36];
	static char st[2 * PATH_MAX + 16];
	size_t n;

	idmap_format_opt(&m->uid, u, sizeof(u));
	idmap_format_opt(&m->gid, g, sizeof(g));
	stats_opt(r->mnt, st, sizeof(st));
	n = (size_t)snprintf(buf, len,
			     "uidmap=%s,gidmap=%s%s%s%s%s%s",
			     u, g, st,
			     o->read_only ? ",ro" : "",
			     r->auto_allow_other ? ",allow_other" : "",
			     o->fuse_opts ? "," : "",
			     o->fuse_opts ? o->fuse_opts : "");
	if (n >= len)
		die(EXIT_FAIL, "shiftfs options too long");
}

static void exec_daemon(const char *bin, const char *src, const char *mnt,
			const char *opts, int log_fd)
{
	int null = open("/dev/null", O_RDONLY);

	setsid();
	if (null >= 0)
		dup2(null, STDIN_FILENO);
	dup2(log_fd, STDOUT_FILENO);
	dup2(log_fd, STDERR_FILENO);
	execlp(bin, bin, src, mnt, "-f", "-o", opts, (char *)NULL);
	fprintf(stderr, "cannot run %s: %s\n", bin, strerror(errno));
	_exit(127);
}

/* Is a new fuse.shiftfs mount on top of MNT (not the one before, old_id)? */
/* Dies: out of memory. */
static bool fuse_mounted(const char *mnt, int old_id)
{
	struct mnt_entry *e = malloc(sizeof(*e));
	bool ok;

	if (!e)
		die(EXIT_FAIL, "out of memory");
	ok = mnt_find(mnt, e) == 0 && e->id != old_id &&
	     !strcmp(e->fstype, SHIFTFS_FSTYPE);
	free(e);
	return ok;
}

/* Dies: out of memory. */
static int top_mount_id(const char *mnt)
{
	struct mnt_entry *e = malloc(sizeof(*e));
	int id = -1;

	if (!e)
		die(EXIT_FAIL, "out of memory");
	if (mnt_find(mnt, e) == 0)
		id = e->id;
	free(e);
	return id;
}

/* Dies: the daemon's failure, with its last log line. */
static noreturn void daemon_failed(struct mount_result *r, pid_t pid,
				   int status)
{
	char line[512];

	last_log_line(r->log, line, sizeof(line));
	unlink(r->log);
	if (pid > 0)
		die(EXIT_FAIL, "shiftfs failed to mount %s (exit %d): %s",
		    r->mnt, WIFEXITED(status) ? WEXITSTATUS(status) : -1, line);
	die(EXIT_FAIL, "shiftfs did not mount %s within %d s: %s", r->mnt,
	    MOUNT_TIMEOUT_MS / 1000, line);
}

/* Unprivileged: the daemon mounts through fusermount3, by path, with the
 * caller's own rights (which bound what a swapped path could reach). */
/* Dies: fork failed, or the daemon failed. */
static void mount_fuse_user(struct mount_result *r, const char *bin,
			    const char *opts, int log_fd)
{
	int old_id = top_mount_id(r->mnt);
	_cleanup_close_ int fd = -1;
	int waited, status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		die(EXIT_FAIL, "fork: %s", strerror(errno));
	if (pid == 0)
		exec_daemon(bin, r->src, r->mnt, opts, log_fd);
	for (waited = 0; waited < MOUNT_TIMEOUT_MS; waited += 20) {
		if (fuse_mounted(r->mnt, old_id)) {
			r->pid = pid;
			fd = fdpath_open(r->mnt, O_DIRECTORY);
			r->mnt_id = top_mount_id(r->mnt);
			if (fd >= 0)
				mnt_id_at(fd, "", &r->mnt_id, &r->mnt_uniq);
			return;
		}
		if (waitpid(pid, &status, WNOHANG) == pid)
			daemon_failed(r, pid, status);
		sleep_ms(20);
	}
	kill(pid, SIGTERM);
	daemon_failed(r, 0, 0);
}

static int fsconfig_str(int fs, const char *key, const char *val)
{
	return fsconfig(fs, FSCONFIG_SET_STRING, key, val, 0);
}

/* Before any daemon ran: its (empty) log goes too. */
/* Dies: the FUSE mount could not be made. */
static noreturn void tree_failed(const struct mount_result *r, const char *what)
{
	int e = errno;

	unlink(r->log);
	die(EXIT_FAIL, "%s for %s: %s", what, r->src, strerror(e));
}

/*
 * A detached fuse.shiftfs mount on a new /dev/fuse connection: what
 * libfuse's mount would make (default_permissions, allow_other, nosuid,
 * nodev unless -o suid/dev), but not attached anywhere yet. Returns the
 * mount's fd; *fuse_fd is the /dev/fuse fd the daemon serves.
 */
static int fuse_tree(const struct mount_opts *o, const struct mount_result *r,
		     int *fuse_fd)
{
	_cleanup_close_ int fs = -1, fuse = -1;
	uint64_t attr = o->mattr;
	char num[32];
	int tree;

	fuse = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fuse < 0)
		tree_failed(r, "/dev/fuse");
	fs = fsopen("fuse", FSOPEN_CLOEXEC);
	if (fs < 0)
		tree_failed(r, "fsopen(fuse)");
	snprintf(num, sizeof(num), "%d", fuse);
	if (fsconfig_str(fs, "source", o->fsname ? o->fsname : r->src) < 0 ||
	    fsconfig_str(fs, "subtype", "shiftfs") < 0 ||
	    fsconfig_str(fs, "fd", num) < 0 ||
	    fsconfig_str(fs, "rootmode", "40000") < 0 ||
	    fsconfig_str(fs, "user_id", "0") < 0 ||
	    fsconfig_str(fs, "group_id", "0") < 0 ||
	    fsconfig(fs, FSCONFIG_SET_FLAG, "default_permissions", NULL, 0) <
		    0 ||
	    fsconfig(fs, FSCONFIG_SET_FLAG, "allow_other", NULL, 0) < 0 ||
	    (o->max_read && fsconfig_str(fs, "max_read", o->max_read) < 0) ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		tree_failed(r, "creating the FUSE mount");
	if (o->read_only)
		attr |= MOUNT_ATTR_RDONLY;
	if (!o->suid)
		attr |= MOUNT_ATTR_NOSUID;
	if (!o->dev)
		attr |= MOUNT_ATTR_NODEV;
	tree = fsmount(fs, FSMOUNT_CLOEXEC, (unsigned int)attr);
	if (tree < 0)
		tree_failed(r, "fsmount(fuse)");
	*fuse_fd = fuse;
	fuse = -1;
	return tree;
}

/* Fork a child that stats the tree's root, which waits for the daemon's
 * answer to FUSE_INIT: it exits 0 once the daemon serves requests. */
/* Dies: fork failed. */
static pid_t wait_for_init(int tree)
{
	struct statx stx;
	pid_t pid = fork();

	if (pid < 0)
		die(EXIT_FAIL, "fork: %s", strerror(errno));
	if (pid == 0)
		_exit(statx(tree, "", AT_EMPTY_PATH | AT_STATX_FORCE_SYNC,
			    STATX_MODE, &stx) == 0
			      ? 0
			      : 1);
	return pid;
}

/*
 * As root: make the mount ourselves and attach it to the checked MNT fd;
 * the daemon serves the /dev/fuse fd (libfuse's "/dev/fd/N" mount point)
 * and opens SRC through our checked fd (/proc/self/fd/N, inherited).
 */
/* Dies: fork failed, the daemon failed, or move_mount. */
static void mount_fuse_root(const struct mount_opts *o, struct mount_result *r,
			    const char *bin, const char *opts, int log_fd)
{
	_cleanup_close_ int tree = -1, fuse = -1;
	char src[64], mnt[64];
	int waited, status;
	pid_t pid, init;

	tree = fuse_tree(o, r, &fuse);
	pid = fork();
	if (pid < 0)
		die(EXIT_FAIL, "fork: %s", strerror(errno));
	if (pid == 0) {
		/* The two fds are the daemon's arguments: keep them. */
		if (fcntl(fuse, F_SETFD, 0) < 0 ||
		    fcntl(r->src_fd, F_SETFD, 0) < 0)
			_exit(127);
		snprintf(src, sizeof(src), "/proc/self/fd/%d", r->src_fd);
		snprintf(mnt, sizeof(mnt), "/dev/fd/%d", fuse);
		exec_daemon(bin, src, mnt, opts, log_fd);
	}
	/* Only the daemon holds the connection now: if it dies, the
	 * connection aborts and the INIT wait below fails. */
	close(fuse);
	fuse = -1;
	init = wait_for_init(tree);
	for (waited = 0; waited < MOUNT_TIMEOUT_MS; waited += 20) {
		if (waitpid(init, &status, WNOHANG) == init) {
			if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
				break;
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			daemon_failed(r, pid, status);
		}
		if (waitpid(pid, &status, WNOHANG) == pid) {
			kill(init, SIGKILL);
			waitpid(init, NULL, 0);
			daemon_failed(r, pid, status);
		}
		sleep_ms(20);
	}
	if (waited >= MOUNT_TIMEOUT_MS) {
		kill(init, SIGKILL);
		waitpid(init, NULL, 0);
		kill(pid, SIGTERM);
		daemon_failed(r, 0, 0);
	}
	if (move_mount(tree, "", r->mnt_fd, "",
		       MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
		int e = errno;

		kill(pid, SIGTERM);
		unlink(r->log);
		die(EXIT_FAIL, "move_mount onto %s: %s", r->mnt, strerror(e));
	}
	r->pid = pid;
	mnt_id_at(tree, "", &r->mnt_id, &r->mnt_uniq);
}

/* Dies: -o allow_other refused by /etc/fuse.conf, and the above. */
void mount_fuse(const struct mount_opts *o, struct mount_result *r,
		const struct idmaps *m)
{
	static char opts[IDMAP_MAX_RANGES * 72 + 4096];
	const char *bin = find_shiftfs();
	_cleanup_close_ int log_fd = -1;

	if (geteuid() != 0 && !fuse_conf_allows_other()) {
		if (o->allow_other)
			die(EXIT_FAIL, "-o allow_other as an unprivileged user "
				       "needs user_allow_other in "
				       "/etc/fuse.conf");
	} else if (geteuid() != 0 && !o->allow_other) {
		/* The container's ids are not ours: they must see it. */
		r->auto_allow_other = true;
	}
	build_fuse_opts(o, r, m, opts, sizeof(opts));
	log_fd = open_log(r);
	if (geteuid() == 0)
		mount_fuse_root(o, r, bin, opts, log_fd);
	else
		mount_fuse_user(r, bin, opts, log_fd);
}
