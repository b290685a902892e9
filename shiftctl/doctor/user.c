/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * USER: its container uid, gid and groups from the container's passwd and
 * group files, then its host ids under the map (an unmapped supplementary
 * group is dropped, as the engine drops it), and the credentials the
 * verdicts judge with.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "doctor_int.h"
#include "passwd.h"

void resolve_user(struct doctor *dr)
{
	const struct passwd_db *pw = mapsrc_passwd_db(&dr->ms);
	const struct passwd_db *gr = mapsrc_group_db(&dr->ms);
	struct shift_diag d = {""};
	struct passwd_user u;
	char spec[256], *colon;
	size_t i;
	int r;

	r = passwd_db_resolve_pair(pw, gr, dr->user_spec, &dr->c_uid,
				   &dr->c_gid, &d);
	if (r < 0) {
		_cleanup_free_ char *us = tty_escape(dr->user_spec),
				    *m = tty_escape(d.msg);

		die(EXIT_FAIL, "--user=%s: %s", us, m);
	}
	bfmt(spec, sizeof(spec), "%s", dr->user_spec);
	colon = strchr(spec, ':');
	if (colon)
		*colon = '\0';
	if (passwd_db_user_lookup(pw, spec, &u, &d) == 0)
		bfmt(dr->c_name, sizeof(dr->c_name), "%s", u.name);
	/* Primary group first, then /etc/group's supplementary ones. */
	dr->c_groups[0] = dr->c_gid;
	dr->c_ngroups = 1;
	if (dr->c_name[0] && gr) {
		uint32_t g[PASSWD_MAX_GROUPS];

		r = passwd_db_user_groups(gr, dr->c_name, g, PASSWD_MAX_GROUPS,
					  &d);
		if (r < 0) {
			_cleanup_free_ char *m = tty_escape(d.msg);

			die(EXIT_FAIL, "%s", m);
		}
		for (i = 0; i < (size_t)r; i++) {
			size_t j;

			for (j = 0; j < dr->c_ngroups; j++)
				if (dr->c_groups[j] == g[i])
					break;
			if (j == dr->c_ngroups &&
			    dr->c_ngroups < PASSWD_MAX_GROUPS)
				dr->c_groups[dr->c_ngroups++] = g[i];
		}
	}
}

/*
 * The host id container id c gets under keep-id:uid=u (gid=g alike):
 * podman maps u to its user (the rootless map's 0), the ids below u to
 * the rootless map's 1..u, those above u to themselves.
 */
static int keep_id_to_host(const struct idmap *rootless, uint32_t u, uint32_t c,
			   uint32_t *host)
{
	if (c == u)
		c = 0;
	else if (c < u)
		c++;
	return idmap_to_view(rootless, c, host);
}

/* USER's host credentials under keep-id, when the caller is the user
 * whose rootless layout the map is (the one who would run podman). */
static void keep_id_cred(struct doctor *dr)
{
	struct access_cred *k = &dr->keep_cred;
	size_t i;

	*k = dr->cred;
	dr->keep_id = false;
	if (dr->ms.req.kind != LAYOUT_ROOTLESS || !dr->root_mapped ||
	    dr->root_k_uid != (uint32_t)getuid())
		return;
	if (keep_id_to_host(&dr->maps.uid, dr->c_uid, dr->c_uid, &k->uid) < 0 ||
	    keep_id_to_host(&dr->maps.gid, dr->c_gid, dr->c_gid, &k->gid) < 0)
		return;
	k->ngroups = 0;
	for (i = 0; i < dr->c_ngroups; i++)
		if (keep_id_to_host(&dr->maps.gid, dr->c_gid, dr->c_groups[i],
				    &dr->keep_groups[k->ngroups]) == 0)
			k->ngroups++;
	k->groups = dr->keep_groups;
	dr->keep_id = true;
}

/* The caller's own credentials on the host (for SC_CALLER). */
static void caller_cred(struct doctor *dr)
{
	struct access_cred *c = &dr->caller_cred;
	gid_t g[PASSWD_MAX_GROUPS];
	int n = getgroups(PASSWD_MAX_GROUPS - 1, g);

	c->uid = (uint32_t)geteuid();
	c->gid = (uint32_t)getegid();
	dr->caller_groups[0] = c->gid;
	c->ngroups = 1;
	for (int i = 0; i < n; i++)
		if ((uint32_t)g[i] != c->gid)
			dr->caller_groups[c->ngroups++] = (uint32_t)g[i];
	c->groups = dr->caller_groups;
	c->ns_root = false;
	c->ns = NULL;
}

void build_map(struct doctor *dr)
{
	struct shift_diag d = {""};
	char desc[160];
	size_t i;
	int r;

	r = layout_build(&dr->ms.req, &dr->maps, &d);
	if (r < 0) {
		mapsrc_describe(&dr->ms, desc, sizeof(desc));
		fprintf(stderr, "%s doctor: cannot compute the %s map: %s\n",
			program_name, desc, d.msg[0] ? d.msg : strerror(-r));
		if (r == -ENOENT && (dr->ms.req.kind == LAYOUT_ROOTLESS ||
				     dr->ms.req.kind == LAYOUT_USERNS_REMAP))
			fprintf(stderr,
				"  The engine cannot start a user namespace "
				"for this user without subordinate ids.\n"
				"  Add them (as root), then restart the "
				"engine:\n"
				"    usermod --add-subuids 100000-165535 "
				"--add-subgids 100000-165535 %s\n",
				dr->ms.req.user ? dr->ms.req.user : "$USER");
		exit(EXIT_FAIL);
	}
	if (idmap_to_view(&dr->maps.uid, dr->c_uid, &dr->k_uid) < 0)
		die(EXIT_FAIL,
		    "container uid %u is not mapped by the %s map: the "
		    "container cannot run as this USER at all",
		    dr->c_uid, layout_kind_name(dr->ms.req.kind));
	if (idmap_to_view(&dr->maps.gid, dr->c_gid, &dr->k_gid) < 0)
		die(EXIT_FAIL,
		    "container gid %u is not mapped by the %s map: the "
		    "container cannot run with this group",
		    dr->c_gid, layout_kind_name(dr->ms.req.kind));
	dr->k_ngroups = 0;
	for (i = 0; i < dr->c_ngroups; i++) {
		uint32_t k;

		/* An unmapped group cannot be set by setgroups() in the
		 * namespace: the engine fails or drops it. */
		if (idmap_to_view(&dr->maps.gid, dr->c_groups[i], &k) == 0)
			dr->k_groups[dr->k_ngroups++] = k;
	}
	dr->root_mapped = idmap_to_view(&dr->maps.uid, 0, &dr->root_k_uid) == 0;
	dr->cred.uid = dr->k_uid;
	dr->cred.gid = dr->k_gid;
	dr->cred.groups = dr->k_groups;
	dr->cred.ngroups = dr->k_ngroups;
	dr->cred.ns_root = dr->c_uid == 0;
	dr->cred.ns = &dr->maps;
	keep_id_cred(dr);
	caller_cred(dr);
}
