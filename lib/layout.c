/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Layouts to id maps; see layout.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "idmap_parse.h"
#include "layout.h"
#include "passwd.h"
#include "subid.h"

#define SUBUID_DEFAULT "/etc/subuid"
#define SUBGID_DEFAULT "/etc/subgid"

const char *layout_kind_name(enum layout_kind kind)
{
	switch (kind) {
	case LAYOUT_EXPLICIT:
		return "explicit";
	case LAYOUT_ROOTLESS:
		return "rootless";
	case LAYOUT_USERNS_REMAP:
		return "userns-remap";
	case LAYOUT_PID:
		return "pid";
	default:
		return "none";
	}
}

/* Append ranges so that disk ids first, first+1, ... run through them. */
static int add_subids(struct idmap *m, uint32_t first,
		      const struct subid_ranges *s, struct shift_diag *d)
{
	uint64_t disk = first;
	uint32_t i;
	int r;

	for (i = 0; i < s->n; i++) {
		uint32_t count = s->r[i].count;
		if (disk > UINT32_MAX)
			break;
		if (disk + count > (uint64_t)UINT32_MAX + 1)
			count = (uint32_t)((uint64_t)UINT32_MAX + 1 - disk);
		r = idmap_add(m, (uint32_t)disk, s->r[i].start, count, d);
		if (r < 0)
			return r;
		disk += count;
	}
	return 0;
}

static int read_subids(const char *path, const struct passwd_user *u,
		       const char *name, struct subid_ranges *out,
		       struct shift_diag *d)
{
	return subid_read(path, name[0] ? name : NULL, true, u->uid, out, d);
}

static int build_rootless(const struct layout_req *req, struct idmaps *out,
			  struct shift_diag *d)
{
	struct subid_ranges su, sg;
	const char *uf = req->subuid_path ? req->subuid_path : SUBUID_DEFAULT;
	const char *gf = req->subgid_path ? req->subgid_path : SUBGID_DEFAULT;
	struct passwd_user u;
	char self[16];
	int r;

	if (!req->user)
		snprintf(self, sizeof(self), "%u", (unsigned)getuid());
	r = passwd_host_user(req->user ? req->user : self, &u, d);
	if (r < 0)
		return r;
	r = read_subids(uf, &u, u.name, &su, d);
	if (r < 0)
		return r;
	r = read_subids(gf, &u, u.name, &sg, d);
	if (r < 0)
		return r;
	r = idmap_add(&out->uid, 0, u.uid, 1, d);
	if (r < 0)
		return r;
	r = idmap_add(&out->gid, 0, u.gid, 1, d);
	if (r < 0)
		return r;
	r = add_subids(&out->uid, 1, &su, d);
	if (r < 0) {
		shift_diag_prefix(d, "%s for %s", uf, req->user ? req->user : self);
		return r;
	}
	r = add_subids(&out->gid, 1, &sg, d);
	if (r < 0)
		shift_diag_prefix(d, "%s for %s", gf, req->user ? req->user : self);
	return r;
}

static int build_userns_remap(const struct layout_req *req,
			      struct idmaps *out, struct shift_diag *d)
{
	struct subid_ranges su, sg;
	const char *uf = req->subuid_path ? req->subuid_path : SUBUID_DEFAULT;
	const char *gf = req->subgid_path ? req->subgid_path : SUBGID_DEFAULT;
	char user[PASSWD_NAME_MAX], group[PASSWD_NAME_MAX];
	const char *colon;
	struct passwd_user u;
	int r;

	if (!req->user || !*req->user)
		return shift_diag_set(d, EINVAL,
				      "userns-remap needs a user name");
	/* docker: "default" is the dockremap user; GROUP defaults to USER. */
	colon = strchr(req->user, ':');
	snprintf(user, sizeof(user), "%.*s",
		 (int)(colon ? (size_t)(colon - req->user) : strlen(req->user)),
		 req->user);
	snprintf(group, sizeof(group), "%s", colon ? colon + 1 : user);
	if (strcmp(user, "default") == 0) {
		snprintf(user, sizeof(user), "dockremap");
		snprintf(group, sizeof(group), "dockremap");
	}
	r = passwd_host_user(user, &u, d);
	if (r < 0)
		return r;
	r = read_subids(uf, &u, u.name, &su, d);
	if (r < 0)
		return r;
	/* GROUP defaults to the user: look it up as the subuid was (by name
	 * and uid), also when the user was given by number. */
	if (strcmp(group, user) == 0)
		r = read_subids(gf, &u, u.name, &sg, d);
	else
		r = subid_read(gf, group, false, 0, &sg, d);
	if (r < 0)
		return r;
	r = add_subids(&out->uid, 0, &su, d);
	if (r < 0)
		return r;
	return add_subids(&out->gid, 0, &sg, d);
}

static int build_explicit(const struct layout_req *req, struct idmaps *out,
			  struct shift_diag *d)
{
	const char *us = req->uid_spec ? req->uid_spec : req->map_spec;
	const char *gs = req->gid_spec ? req->gid_spec : req->map_spec;
	int r;

	if (!us || !gs)
		return shift_diag_set(
			d, EINVAL, "%s map missing: give --map, or both --uid-map and --gid-map",
			us ? "gid" : "uid");
	r = idmap_parse_spec(&out->uid, us, d);
	if (r < 0) {
		shift_diag_prefix(d, "uid map \"%s\"", us);
		return r;
	}
	r = idmap_parse_spec(&out->gid, gs, d);
	if (r < 0)
		shift_diag_prefix(d, "gid map \"%s\"", gs);
	return r;
}

/* Replace the layout by the single range owner <-> view of the user. */
static int apply_owner(const struct layout_req *req, struct idmaps *out,
		       struct shift_diag *d)
{
	uint32_t vu, vg;

	if (idmap_to_view(&out->uid, req->user_uid, &vu) < 0)
		return shift_diag_set(d, EOVERFLOW,
				      "container uid %u has no host uid in the %s layout",
				      req->user_uid,
				      layout_kind_name(req->kind));
	if (idmap_to_view(&out->gid, req->user_gid, &vg) < 0)
		return shift_diag_set(d, EOVERFLOW,
				      "container gid %u has no host gid in the %s layout",
				      req->user_gid,
				      layout_kind_name(req->kind));
	idmap_init(&out->uid);
	idmap_init(&out->gid);
	if (idmap_add(&out->uid, req->owner_uid, vu, 1, d) < 0 ||
	    idmap_add(&out->gid, req->owner_gid, vg, 1, d) < 0)
		return -EINVAL; /* cannot happen: one range each */
	return 0;
}

int layout_build(const struct layout_req *req, struct idmaps *out,
		 struct shift_diag *d)
{
	int r;

	idmaps_init(out);
	if (req->has_overflow_uid)
		out->overflow_uid = req->overflow_uid;
	if (req->has_overflow_gid)
		out->overflow_gid = req->overflow_gid;
	switch (req->kind) {
	case LAYOUT_EXPLICIT:
		r = build_explicit(req, out, d);
		break;
	case LAYOUT_ROOTLESS:
		r = build_rootless(req, out, d);
		break;
	case LAYOUT_USERNS_REMAP:
		r = build_userns_remap(req, out, d);
		break;
	case LAYOUT_PID:
		r = idmap_read_pid(out, req->pid, d);
		break;
	default:
		return shift_diag_set(d, EINVAL, "no id map given");
	}
	if (r < 0 || !req->owner_mode)
		return r;
	return apply_owner(req, out, d);
}
