/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Inside the plugin engine only: the volumes (volumes.c), the child that
 * runs the mount engine (child.c), the HTTP server (server.c).
 */
#ifndef SHIFTCTL_PLUGIN_INT_H
#define SHIFTCTL_PLUGIN_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "plugin.h"

#define PLUGIN_ERR_MAX 1024

/* volumes.c: the table, loaded from and saved to the state directory. */
int vol_init(const struct plugin_opts *o, char *why, size_t len);
void vol_fini(void);
/*
 * One request of the protocol: req is its JSON body (NULL when there was
 * none), the return value the response body (new object; "Err" set on
 * failure). path is the request path ("/VolumeDriver.Mount").
 */
struct json_object *vol_request(const char *path, struct json_object *req);

/*
 * child.c: run fn(ctx, out_fd) in a child process with its stderr
 * captured. 0 when it exited 0 (*out: what it wrote to out_fd, malloc'd,
 * NUL-terminated, or NULL when out is NULL); else -1 and err holds the
 * last line it printed (the die() message), without "shiftctl: ".
 */
typedef void (*child_fn)(void *ctx, int out_fd);
int child_run(child_fn fn, void *ctx, char **out, char *err, size_t len);

#endif
