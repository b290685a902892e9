/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The MAP SOURCE options every verb shares. Parsing of map text and the
 * layouts themselves live in the library (layout_build()); this file only
 * turns options into a struct layout_req and prints errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pwd.h>

#include "parse_int.h"
#include "passwd.h"
#include "shiftctl.h"
#include "subid.h"

/*
 * secure_getenv() for a privileged run: glibc's only hides the variable
 * under AT_SECURE (setuid exec), not for root itself, and "sudo -E" or
 * env_keep hand a user's environment to root. A privileged run takes its
 * files from the command line (--subuid-file) or from /etc.
 */
static const char *unprivileged_getenv(const char *name)
{
	if (geteuid() == 0 || geteuid() != getuid() || getegid() != getgid())
		return NULL;
	return secure_getenv(name);
}

/* clang-format off */
static const struct opt_def source_defs[] = {
	{"rootless", optional_argument, OPT_ROOTLESS,
	 "     --rootless[=USER]      podman/rootless docker: 0 -> USER, 1.. ->\n"
	 "                              USER's /etc/subuid, /etc/subgid ranges\n"
	 "                              (default: you; as root, sudo's user)\n"},
	{"userns-remap", required_argument, OPT_USERNS_REMAP,
	 "     --userns-remap=USER[:GROUP]  docker userns-remap: 0.. -> ranges\n"},
	{"pid", required_argument, OPT_PID,
	 "     --pid=PID              the maps of a running (container) process\n"},
	{"map", required_argument, OPT_MAP,
	 "     --map=SPEC             explicit DISK:VIEW:COUNT[,...] for both\n"},
	{"uid-map", required_argument, OPT_UID_MAP,
	 "     --uid-map=SPEC, --gid-map=SPEC  explicit, one kind each\n"},
	{"uidmap", required_argument, OPT_UID_MAP, NULL},
	{"gid-map", required_argument, OPT_GID_MAP, NULL},
	{"gidmap", required_argument, OPT_GID_MAP, NULL},
	OPT_DEF_END,
};

static const struct opt_def file_defs[] = {
	{"subuid-file", required_argument, OPT_SUBUID_FILE,
	 "     --subuid-file=FILE     instead of /etc/subuid ($SHIFTCTL_SUBUID,\n"
	 "                              ignored when run as root)\n"},
	{"subgid-file", required_argument, OPT_SUBGID_FILE,
	 "     --subgid-file=FILE     instead of /etc/subgid ($SHIFTCTL_SUBGID)\n"},
	{"overflow-uid", required_argument, OPT_OVERFLOW_UID,
	 "     --overflow-uid=ID, --overflow-gid=ID  shown for unmapped ids\n"
	 "                              (default: /proc/sys/kernel/overflowuid)\n"},
	{"overflow-gid", required_argument, OPT_OVERFLOW_GID, NULL},
	{"rootfs", required_argument, OPT_ROOTFS,
	 "     --rootfs=DIR           the container's root: names resolve in its\n"
	 "                              /etc/passwd and /etc/group\n"},
	{"passwd", required_argument, OPT_PASSWD,
	 "     --passwd=FILE, --group=FILE  the container's passwd/group files\n"},
	{"group", required_argument, OPT_GROUP, NULL},
	OPT_DEF_END,
};

static const struct opt_def owner_defs[] = {
	{"user", required_argument, OPT_OWNER_MODE_USER,
	 "     --user=C[:G]           owner mode: container USER C sees ...\n"},
	{"owner", required_argument, OPT_OWNER_MODE_OWNER,
	 "     --owner=H[:G]          ... host owner H's files as its own\n"},
	OPT_DEF_END,
};
/* clang-format on */

const struct opt_group mapsrc_source_opts = {"Map source (one of):",
					      source_defs};
const struct opt_group mapsrc_file_opts = {"Map options:", file_defs};
/* Listed first under a verb's own "Options:". */
const struct opt_group mapsrc_owner_opts = {"Options:", owner_defs};

void mapsrc_init(struct mapsrc *ms, const char *verb)
{
	memset(ms, 0, sizeof(*ms));
	ms->verb = verb;
	ms->rootfd = -1;
	ms->req.subuid_path = unprivileged_getenv("SHIFTCTL_SUBUID");
	ms->req.subgid_path = unprivileged_getenv("SHIFTCTL_SUBGID");
}

/* opt: the option as the user typed it (its long name), for messages. */
static void set_kind(struct mapsrc *ms, enum layout_kind kind, const char *opt)
{
	/* --uid-map and --gid-map together (and with --map) name one source. */
	if (ms->req.kind == kind && kind == LAYOUT_EXPLICIT)
		return;
	if (ms->req.kind != LAYOUT_NONE)
		usage_error(ms->verb,
			    "give one map source: --%s conflicts with --%s",
			    opt, ms->source_opt);
	ms->req.kind = kind;
	ms->source_opt = opt;
}

static uint32_t parse_id_opt(const struct mapsrc *ms, const char *opt,
			     const char *arg)
{
	uint32_t v;
	int r = parse_u32(arg, 0, UINT32_MAX - 1, &v);

	if (r < 0)
		usage_error(ms->verb, "--%s '%s': %s", opt, arg,
			    parse_u32_reason(r));
	return v;
}

bool mapsrc_option(struct mapsrc *ms, int opt, const char *arg)
{
	uint32_t pid;
	int r;

	switch (opt) {
	case OPT_ROOTLESS:
		set_kind(ms, LAYOUT_ROOTLESS, "rootless");
		ms->req.user = arg;
		break;
	case OPT_USERNS_REMAP:
		set_kind(ms, LAYOUT_USERNS_REMAP, "userns-remap");
		ms->req.user = arg;
		break;
	case OPT_PID:
		set_kind(ms, LAYOUT_PID, "pid");
		r = parse_u32(arg, 1, INT32_MAX, &pid);
		if (r < 0)
			usage_error(ms->verb, "--pid '%s': %s", arg,
				    parse_u32_reason(r));
		ms->req.pid = (pid_t)pid;
		break;
	case OPT_MAP:
		set_kind(ms, LAYOUT_EXPLICIT, "map");
		ms->req.map_spec = arg;
		break;
	case OPT_UID_MAP:
		set_kind(ms, LAYOUT_EXPLICIT, "uid-map");
		ms->req.uid_spec = arg;
		break;
	case OPT_GID_MAP:
		set_kind(ms, LAYOUT_EXPLICIT, "gid-map");
		ms->req.gid_spec = arg;
		break;
	case OPT_SUBUID_FILE:
		ms->req.subuid_path = arg;
		break;
	case OPT_SUBGID_FILE:
		ms->req.subgid_path = arg;
		break;
	case OPT_ROOTFS:
		mapsrc_set_rootfs(ms, arg);
		break;
	case OPT_PASSWD:
		ms->passwd_path = arg;
		ms->passwd_in_root = false;
		break;
	case OPT_GROUP:
		ms->group_path = arg;
		ms->group_in_root = false;
		break;
	case OPT_OVERFLOW_UID:
		ms->req.overflow_uid = parse_id_opt(ms, "overflow-uid", arg);
		ms->req.has_overflow_uid = true;
		break;
	case OPT_OVERFLOW_GID:
		ms->req.overflow_gid = parse_id_opt(ms, "overflow-gid", arg);
		ms->req.has_overflow_gid = true;
		break;
	case OPT_OWNER_MODE_USER:
		ms->user_spec = arg;
		break;
	case OPT_OWNER_MODE_OWNER:
		ms->owner_spec = arg;
		break;
	default:
		return false;
	}
	return true;
}

const char *mapsrc_passwd(const struct mapsrc *ms)
{
	return ms->passwd_path;
}

const char *mapsrc_group(const struct mapsrc *ms)
{
	return ms->group_path;
}

void mapsrc_set_rootfs(struct mapsrc *ms, const char *dir)
{
	if (ms->rootfd >= 0)
		close(ms->rootfd);
	ms->rootfd = -1;
	ms->rootfs = dir;
	snprintf(ms->passwd_buf, sizeof(ms->passwd_buf), "%s/etc/passwd", dir);
	snprintf(ms->group_buf, sizeof(ms->group_buf), "%s/etc/group", dir);
	ms->passwd_path = ms->passwd_buf;
	ms->group_path = ms->group_buf;
	ms->passwd_in_root = ms->group_in_root = true;
}

static const struct passwd_db *load(struct mapsrc *ms, const char *path,
				    bool in_root, struct passwd_db *db,
				    bool *loaded, const char *rel)
{
	if (!path)
		return NULL;
	if (*loaded)
		return db;
	*loaded = true;
	if (!in_root) {
		passwd_db_load(db, -1, path, path);
		return db;
	}
	if (ms->rootfd < 0)
		ms->rootfd = open(ms->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (ms->rootfd < 0) {
		memset(db, 0, sizeof(*db));
		snprintf(db->name, sizeof(db->name), "%s", path);
		db->err = shift_diag_set(&db->diag, errno, "--rootfs=%s: %s",
					 ms->rootfs, strerror(errno));
		return db;
	}
	passwd_db_load(db, ms->rootfd, rel, path);
	return db;
}

const struct passwd_db *mapsrc_passwd_db(struct mapsrc *ms)
{
	return load(ms, ms->passwd_path, ms->passwd_in_root, &ms->passwd_db,
		    &ms->passwd_loaded, "etc/passwd");
}

const struct passwd_db *mapsrc_group_db(struct mapsrc *ms)
{
	return load(ms, ms->group_path, ms->group_in_root, &ms->group_db,
		    &ms->group_loaded, "etc/group");
}

void mapsrc_release(struct mapsrc *ms)
{
	passwd_db_free(&ms->passwd_db);
	passwd_db_free(&ms->group_db);
	ms->passwd_loaded = ms->group_loaded = false;
	if (ms->rootfd >= 0)
		close(ms->rootfd);
	ms->rootfd = -1;
}

const char *mapsrc_names_hint(const struct mapsrc *ms, int err)
{
	if (err != -ENOENT || ms->passwd_path)
		return "";
	return " (names need the container's files: --rootfs=DIR or "
	       "--passwd=FILE)";
}

/* Owner mode: --user=C[:G] names container ids, --owner=H[:G] host ids. */
static void resolve_owner_mode(struct mapsrc *ms)
{
	struct shift_diag d = {""};
	int r;

	r = passwd_db_resolve_pair(mapsrc_passwd_db(ms), mapsrc_group_db(ms),
				   ms->user_spec, &ms->req.user_uid,
				   &ms->req.user_gid, &d);
	if (r < 0)
		die(EXIT_FAIL, "--user=%s: %s%s", ms->user_spec, d.msg,
		    mapsrc_names_hint(ms, r));
	r = passwd_resolve_pair("/etc/passwd", "/etc/group", ms->owner_spec,
				&ms->req.owner_uid, &ms->req.owner_gid, &d);
	if (r < 0)
		die(EXIT_FAIL, "--owner=%s: %s (host user)", ms->owner_spec,
		    d.msg);
	ms->req.owner_mode = true;
}

const char *mapsrc_sudo_user(uid_t *uid_out)
{
	const char *name = getenv("SUDO_USER"), *id = getenv("SUDO_UID");
	struct passwd *pw;
	uint32_t uid;

	if (!name || !*name || !id || parse_u32(id, 1, UINT32_MAX - 1, &uid))
		return NULL;
	pw = getpwnam(name);
	if (!pw || pw->pw_uid != uid)
		return NULL;
	if (uid_out)
		*uid_out = pw->pw_uid;
	return name;
}

/* The first user named in subid file path, into buf ("USER" if none). */
static void first_subid_user(const char *path, char *buf, size_t len)
{
	char line[512];
	FILE *f = fopen(path, "re");

	snprintf(buf, len, "USER");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		size_t n = strcspn(line, ":\n");

		if (line[0] == '#' || !n || line[n] != ':' ||
		    !strncmp(line, "root:", 5))
			continue;
		snprintf(buf, len, "%.*s", (int)n, line);
		break;
	}
	fclose(f);
}

/* The command line as run, with --rootless=user in place of a bare
 * --rootless (or added after the verb), quoted for a shell, ending the
 * line on stderr. */
static void print_with_rootless(const char *user)
{
	bool done = false; /* a bare --rootless is replaced, else added */
	int i;

	for (i = 1; i < shiftctl_argc; i++)
		done |= !strcmp(shiftctl_argv[i], "--rootless");
	fprintf(stderr, "%s", program_name);
	for (i = 1; i < shiftctl_argc; i++) {
		const char *a = shiftctl_argv[i];
		char *q;

		if (!strcmp(a, "--rootless")) {
			q = sh_quote(user);
			fprintf(stderr, " --rootless=%s", q);
			free(q);
			continue;
		}
		q = sh_quote(a);
		fprintf(stderr, " %s", q);
		free(q);
		if (i == 1 && !done) {
			q = sh_quote(user);
			fprintf(stderr, " --rootless=%s", q);
			free(q);
			done = true;
		}
	}
	fputc('\n', stderr);
}

/*
 * Root asking for "the rootless layout" (a bare --rootless, or none): the
 * layout of the user who ran sudo (SUDO_USER), else root's own ranges when
 * root has some, else a usage error that gives the command to run.
 */
static void rootless_as_root(struct mapsrc *ms)
{
	const char *path =
		ms->req.subuid_path ? ms->req.subuid_path : "/etc/subuid";
	struct subid_ranges *ranges;
	struct shift_diag d = {""};
	const char *user;
	char example[256];
	int r;

	if (geteuid() != 0 || ms->req.kind != LAYOUT_ROOTLESS || ms->req.user)
		return;
	user = mapsrc_sudo_user(NULL);
	if (user) {
		ms->req.user = user;
		fprintf(stderr,
			"%s: run through sudo: using the rootless layout of "
			"%s (SUDO_USER); --rootless=USER names another user\n",
			program_name, user);
		return;
	}
	ranges = malloc(sizeof(*ranges));
	if (!ranges)
		die(EXIT_FAIL, "out of memory");
	r = subid_read(path, "root", true, 0, ranges, &d);
	free(ranges);
	if (r != -ENOENT)
		return; /* root's own layout, or layout_build says why not */
	first_subid_user(path, example, sizeof(example));
	fflush(stdout);
	fprintf(stderr,
		"%s %s: as root, say whose rootless layout is meant (root has "
		"no entry in %s) with --rootless=USER, for example: ",
		program_name, ms->verb, path);
	print_with_rootless(example);
	exit(EXIT_USAGE);
}

long long mapsrc_rootless_uid(struct mapsrc *ms, bool default_rootless)
{
	struct shift_diag d = {""};
	struct passwd_user u;

	if (ms->req.kind == LAYOUT_NONE && default_rootless)
		ms->req.kind = LAYOUT_ROOTLESS;
	if (ms->req.kind != LAYOUT_ROOTLESS)
		return -1;
	rootless_as_root(ms);
	if (!ms->req.user)
		return (long long)getuid();
	if (passwd_host_user(ms->req.user, &u, &d) < 0)
		die(EXIT_FAIL, "--rootless=%s: %s", ms->req.user, d.msg);
	return u.uid;
}

void mapsrc_build(struct mapsrc *ms, bool default_rootless, struct idmaps *out)
{
	struct shift_diag d = {""};
	int r;

	if (ms->req.kind == LAYOUT_NONE) {
		if (!default_rootless)
			usage_error(ms->verb,
				    "no map source: give --rootless, "
				    "--userns-remap, --pid or --map");
		ms->req.kind = LAYOUT_ROOTLESS;
	}
	rootless_as_root(ms);
	if (ms->user_spec && ms->owner_spec)
		resolve_owner_mode(ms);
	r = layout_build(&ms->req, out, &d);
	if (r < 0)
		die(EXIT_FAIL, "%s", d.msg[0] ? d.msg : strerror(-r));
}

void mapsrc_describe(const struct mapsrc *ms, char *buf, size_t len)
{
	const struct layout_req *q = &ms->req;

	switch (q->kind) {
	case LAYOUT_ROOTLESS:
	case LAYOUT_USERNS_REMAP:
		if (q->user)
			snprintf(buf, len, "%s (%s)", layout_kind_name(q->kind),
				 q->user);
		else
			snprintf(buf, len, "%s (uid %u)",
				 layout_kind_name(q->kind), (unsigned)getuid());
		break;
	case LAYOUT_PID:
		snprintf(buf, len, "pid %d", (int)q->pid);
		break;
	default:
		snprintf(buf, len, "%s", layout_kind_name(q->kind));
		break;
	}
}
