/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fixes, decided from the scan's counts: for each cure (an owner-mode
 * shifted mount, an in-place chown, a shift of every owner, podman's
 * keep-id, a remount), the commands to run with every word quoted by
 * sh_quote(), ranked by how many problems each leaves, then what to run
 * after the best ones when the owner's own mode bits or an ACL mask deny.
 */
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "doctor_int.h"

static void add_cmd(struct fix *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void add_cmd(struct fix *f, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (f->ncmd >= 8)
		return;
	va_start(ap, fmt);
	r = vasprintf(&f->commands[f->ncmd], fmt, ap);
	va_end(ap);
	if (r < 0)
		die(EXIT_FAIL, "out of memory");
	f->ncmd++;
}

void free_fixes(struct fix *fx, int n)
{
	for (int i = 0; i < n; i++)
		for (int c = 0; c < fx[i].ncmd; c++)
			free(fx[i].commands[c]);
}

/* " OPT=VALUE" as one quoted shell word onto f (VALUE NULL: " OPT"). */
static void put_word(FILE *f, const char *opt, const char *value)
{
	_cleanup_free_ char *w = NULL, *q = NULL;

	if (asprintf(&w, "%s%s", opt, value ? value : "") < 0)
		die(EXIT_FAIL, "out of memory");
	q = sh_quote(w);
	fprintf(f, "%s%s", ftell(f) ? " " : "", q);
}

/* The caller's login name (its uid if it has none). */
static const char *caller_name(void)
{
	static char buf[256];
	struct passwd *pw = getpwuid(getuid());

	bfmt(buf, sizeof(buf), "%s", pw ? pw->pw_name : "");
	if (!buf[0])
		bfmt(buf, sizeof(buf), "%u", (unsigned)getuid());
	return buf;
}

/* The map source options, as the user gave them (or as detected), as
 * quoted shell words; malloc'd. */
static char *mapsrc_args(const struct doctor *dr)
{
	const struct layout_req *q = &dr->ms.req;
	const struct mapsrc *ms = &dr->ms;
	char *buf = NULL, pid[32];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		die(EXIT_FAIL, "out of memory");
	switch (q->kind) {
	case LAYOUT_ROOTLESS:
		/* Always named: a fix that needs root is run by root, for
		 * whom a bare --rootless would mean root's own layout. */
		put_word(f, "--rootless=", q->user ? q->user : caller_name());
		break;
	case LAYOUT_USERNS_REMAP:
		put_word(f, "--userns-remap=", q->user);
		break;
	case LAYOUT_PID:
		bfmt(pid, sizeof(pid), "%d", (int)q->pid);
		put_word(f, "--pid=", pid);
		break;
	default:
		if (q->uid_spec || q->gid_spec) {
			if (q->uid_spec)
				put_word(f, "--uid-map=", q->uid_spec);
			if (q->gid_spec)
				put_word(f, "--gid-map=", q->gid_spec);
			if (!q->uid_spec || !q->gid_spec)
				put_word(f, "--map=", q->map_spec);
		} else {
			put_word(f, "--map=", q->map_spec ? q->map_spec : "?");
		}
		break;
	}
	if (q->kind == LAYOUT_ROOTLESS || q->kind == LAYOUT_USERNS_REMAP) {
		if (q->subuid_path)
			put_word(f, "--subuid-file=", q->subuid_path);
		if (q->subgid_path)
			put_word(f, "--subgid-file=", q->subgid_path);
	}
	if (ms->rootfs && ms->rootfs != dr->image_root &&
	    ((ms->passwd_path && ms->passwd_in_root) ||
	     (ms->group_path && ms->group_in_root)))
		put_word(f, "--rootfs=", ms->rootfs);
	if (ms->passwd_path && !ms->passwd_in_root)
		put_word(f, "--passwd=", ms->passwd_path);
	if (ms->group_path && !ms->group_in_root)
		put_word(f, "--group=", ms->group_path);
	if (fclose(f) != 0 || !buf)
		die(EXIT_FAIL, "out of memory");
	return buf;
}

static void user_arg(const struct doctor *dr, char *buf, size_t len)
{
	bfmt(buf, len, "%u:%u", dr->c_uid, dr->c_gid);
}

/* The mount point to suggest, always absolute (a name such as "-rf" must
 * never be taken for an option); malloc'd. */
static char *default_target(const struct doctor *dr)
{
	const char *base = strrchr(dr->realpath, '/');
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	char cwd[PATH_MAX];
	char *out = NULL;
	int r;

	base = base && base[1] ? base + 1 : "volume";
	if (dr->target && dr->target[0] == '/')
		r = asprintf(&out, "%s", dr->target);
	else if (dr->target)
		r = asprintf(&out, "%s/%s",
			     getcwd(cwd, sizeof(cwd)) ? cwd : ".", dr->target);
	else if (getuid() == 0)
		r = asprintf(&out, "/srv/shiftfs/%s", base);
	else if (xdg && *xdg == '/')
		r = asprintf(&out, "%s/shiftfs/%s", xdg, base);
	else
		r = asprintf(&out, "%s.shifted", dr->realpath);
	if (r < 0)
		die(EXIT_FAIL, "out of memory");
	return out;
}

/* A JSON string literal (valid YAML too) for s, for the compose line. */
static char *yaml_str(const char *s)
{
	struct json_object *j = json_string_bytes(s);
	char *out = xstrdup(json_object_to_json_string_ext(
		j, JSON_C_TO_STRING_NOSLASHESCAPE));

	json_object_put(j);
	return out;
}

/*
 * A rootless engine runs as the user whose layout the map is: when that
 * is not the caller (root diagnosing for alice), the engine line says who
 * runs it, as a shell comment; NULL when the caller does. malloc'd.
 */
static char *engine_user(const struct doctor *dr)
{
	_cleanup_free_ char *q = NULL;
	char *out = NULL;

	if (dr->ms.req.kind != LAYOUT_ROOTLESS || !dr->root_mapped ||
	    dr->root_k_uid == (uint32_t)getuid())
		return NULL;
	q = sh_quote(dr->ms.req.user ? dr->ms.req.user : caller_name());
	if (asprintf(&out, "   # as %s: the rootless engine's user", q) < 0)
		die(EXIT_FAIL, "out of memory");
	return out;
}

static void run_snippets(const struct doctor *dr, struct fix *f,
			 const char *src)
{
	const char *z = dr->selinux ? ":z" : "";
	const char *eng = dr->engine ? dr->engine : "docker";
	_cleanup_free_ char *vol = NULL, *qvol = NULL, *yvol = NULL, *as = NULL;

	if (asprintf(&vol, "%s:%s%s", src, dr->container_path, z) < 0)
		die(EXIT_FAIL, "out of memory");
	qvol = sh_quote(vol);
	yvol = yaml_str(vol);
	as = engine_user(dr);
	add_cmd(f, "%s run --user %u:%u -v %s IMAGE%s", eng, dr->c_uid,
		dr->c_gid, qvol, as ? as : "");
	/* A shell comment: pasting it runs nothing. */
	add_cmd(f,
		"# compose: services: { app: { user: \"%u:%u\", volumes: "
		"[%s] } }",
		dr->c_uid, dr->c_gid, yvol);
}

/* A read-only mount: nothing written there until it is remounted. */
static void fix_remount(const struct doctor *dr, struct fix *f,
			const char *qmnt)
{
	memset(f, 0, sizeof(*f));
	f->kind = "remount";
	f->remaining = (int64_t)dr->failed[SC_REMOUNT];
	bfmt(f->summary, sizeof(f->summary),
	     "%s is on a read-only mount (%s): nothing can be "
	     "written there until it is remounted read-write%s",
	     dr->path, dr->mnt_point,
	     geteuid() ? "; it needs root: run it as root" : "");
	add_cmd(f, "mount -o remount,rw %s", qmnt);
}

/* Owner mode: the data shown shifted, nothing changed on disk. */
static void fix_mount(const struct doctor *dr, struct fix *f, const char *map,
		      const char *user, const char *qreal, const char *qtarget,
		      const char *target)
{
	memset(f, 0, sizeof(*f));
	f->kind = "mount";
	f->remaining = (int64_t)dr->failed[SC_MOUNT];
	bfmt(f->summary, sizeof(f->summary),
	     "Show the data shifted, change nothing on disk: host "
	     "owner %u:%u appears as the container's %s",
	     dr->h_uid, dr->h_gid, user);
	add_cmd(f, "shiftctl mount %s --user=%s --owner=%u:%u --mkdir %s %s",
		map, user, dr->h_uid, dr->h_gid, qreal, qtarget);
	run_snippets(dr, f, target);
}

/* Every entry scanned is the caller's: chown(2) to its own ids works on
 * those without privilege, and on no others. */
static bool all_own(const struct doctor *dr)
{
	if (dr->other_owners.entries)
		return false;
	for (size_t i = 0; i < dr->nowners; i++)
		if (dr->owners[i].uid != geteuid())
			return false;
	return true;
}

/* What a chown or shift says when the caller cannot run it: changing
 * owners to other ids takes CAP_CHOWN (shiftctl chown refuses up front). */
static const char *needs_root(const struct doctor *dr, bool chown)
{
	if (geteuid() == 0 ||
	    (chown && dr->k_uid == geteuid() && dr->k_gid == getegid() &&
	     all_own(dr)))
		return "";
	return "; it needs root (CAP_CHOWN): run it as root";
}

/* An in-place chown of the whole tree to USER's host ids. */
static void fix_chown(const struct doctor *dr, struct fix *f, const char *map,
		      const char *user, const char *qreal)
{
	memset(f, 0, sizeof(*f));
	f->kind = "chown";
	f->remaining = (int64_t)dr->failed[SC_CHOWN];
	bfmt(f->summary, sizeof(f->summary),
	     "Rewrite the owners on disk once (undoable): every "
	     "entry owned by the container's %s, host %u:%u%s",
	     user, dr->k_uid, dr->k_gid, needs_root(dr, true));
	add_cmd(f, "shiftctl chown %s --user=%s %s", map, user, qreal);
	run_snippets(dr, f, dr->realpath);
}

/* Every owner through the map, for a tree of container ids. */
static void fix_shift(const struct doctor *dr, struct fix *f, const char *map,
		      const char *qreal)
{
	memset(f, 0, sizeof(*f));
	f->kind = "shift";
	f->remaining = (int64_t)dr->failed[SC_SHIFT];
	bfmt(f->summary, sizeof(f->summary),
	     "The tree has %zu different owners: if they are the "
	     "container's own ids (copied from an image or another "
	     "machine), shift each one through the map on disk%s",
	     dr->nowners, needs_root(dr, false));
	add_cmd(f, "shiftctl shift %s %s", map, qreal);
	run_snippets(dr, f, dr->realpath);
}

/* Rootless podman, the data owned by the invoking user: keep-id. */
static void fix_keep_id(const struct doctor *dr, struct fix *f)
{
	_cleanup_free_ char *vol = NULL, *qvol = NULL;

	memset(f, 0, sizeof(*f));
	f->kind = "podman-keep-id";
	f->remaining = (int64_t)dr->failed[SC_KEEPID];
	bfmt(f->summary, sizeof(f->summary),
	     "podman only: map your own uid %u to the container's "
	     "USER %u:%u for this container, change nothing on disk",
	     (unsigned)getuid(), dr->c_uid, dr->c_gid);
	if (asprintf(&vol, "%s:%s%s", dr->realpath, dr->container_path,
		     dr->selinux ? ":z" : "") < 0)
		die(EXIT_FAIL, "out of memory");
	qvol = sh_quote(vol);
	add_cmd(f,
		"podman run --userns=keep-id:uid=%u,gid=%u -v %s "
		"IMAGE",
		dr->c_uid, dr->c_gid, qvol);
}

/* Rank the fixes by what they leave; a stable sort, so that on a tie
 * the mount comes before the chown (lossless first). */
static void rank_fixes(struct fix *fx, int n)
{
	for (int i = 1; i < n; i++) {
		struct fix t = fx[i];
		int j = i;

		for (; j > 0 && fx[j - 1].remaining > t.remaining; j--)
			fx[j] = fx[j - 1];
		fx[j] = t;
	}
}

/* Drop the fixes judged to fix nothing, the commands they would have
 * added after them included: they are never offered. */
static int drop_useless(const struct doctor *dr, struct fix *fx, int n)
{
	int i, k = 0;

	for (i = 0; i < n; i++) {
		if (fx[i].remaining >= 0 &&
		    (uint64_t)fx[i].remaining >= dr->failed[SC_ASIS] &&
		    !fx[i].followups) {
			free_fixes(&fx[i], 1);
			continue;
		}
		fx[k++] = fx[i];
	}
	return k;
}

static const char *entries(uint64_t n)
{
	return n == 1 ? "entry" : "entries";
}

/* What the best one leaves, when modes or a mask are to blame: a
 * command to run afterwards, its reason as a shell comment. */
static void add_followups(const struct doctor *dr, struct fix *fx, int n,
			  const char *qreal)
{
	char cnt[32];
	int i;

	for (i = 0; i < n; i++) {
		int sc = !strcmp(fx[i].kind, "mount")	? SC_MOUNT
			 : !strcmp(fx[i].kind, "chown") ? SC_CHOWN
			 : !strcmp(fx[i].kind, "shift") ? SC_SHIFT
							: -1;

		if (sc < 0 || fx[i].remaining <= 0)
			continue;
		if (dr->fail_owner_bits[sc] || dr->fail_mask[sc])
			fx[i].followups = true;
		if (dr->fail_owner_bits[sc])
			add_cmd(&fx[i],
				"chmod -R u+%sX %s   # then: the owner's own "
				"mode bits deny %s %s",
				dr->need & ACCESS_W ? "rw" : "r", qreal,
				fmt_count(dr->fail_owner_bits[sc], cnt),
				entries(dr->fail_owner_bits[sc]));
		if (dr->fail_mask[sc])
			add_cmd(&fx[i],
				"setfacl -R -m m::rwX %s   # then: an ACL "
				"mask denies %s %s",
				qreal, fmt_count(dr->fail_mask[sc], cnt),
				entries(dr->fail_mask[sc]));
	}
}

int build_fixes(struct doctor *dr, struct fix *fx)
{
	char user[64];
	_cleanup_free_ char *map = NULL, *target = NULL, *qreal = NULL,
			    *qtarget = NULL, *qmnt = NULL;
	int n = 0;
	uint64_t total = dr->failed[SC_ASIS];

	if (!total && !dr->truncated)
		return 0;
	map = mapsrc_args(dr);
	user_arg(dr, user, sizeof(user));
	target = default_target(dr);
	qreal = sh_quote(dr->realpath);
	qtarget = sh_quote(target);
	qmnt = sh_quote(dr->mnt_point[0] ? dr->mnt_point : "/");

	if (dr->rofs)
		fix_remount(dr, &fx[n++], qmnt);
	if (total) {
		fix_mount(dr, &fx[n++], map, user, qreal, qtarget, target);
		fix_chown(dr, &fx[n++], map, user, qreal);
	}
	if (total && dr->nowners > 1 && dr->failed[SC_SHIFT] < total)
		fix_shift(dr, &fx[n++], map, qreal);
	/* keep-id: run by the user whose rootless layout this is, and
	 * only when it changes who USER is (not uid and gid 0). */
	if (total && dr->engine && !strcmp(dr->engine, "podman") &&
	    dr->rootless && dr->keep_id && (dr->c_uid || dr->c_gid))
		fix_keep_id(dr, &fx[n++]);
	rank_fixes(fx, n);
	add_followups(dr, fx, n, qreal);
	return drop_useless(dr, fx, n);
}
