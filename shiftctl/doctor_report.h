/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shiftctl doctor's report, from the engine's result (doctor.h): the text
 * on stdout, or the --json document, whose "entries" the scan fills
 * through doctor_list_json().
 */
#ifndef SHIFTCTL_DOCTOR_REPORT_H
#define SHIFTCTL_DOCTOR_REPORT_H

#include <sys/stat.h>

#include <json-c/json.h>

#include "doctor.h"

/* A doctor list_entry: the entry as a JSON object appended to the array
 * ctx (a struct json_object *). */
void doctor_list_json(void *ctx, const struct doctor *dr, const char *rel,
		      const struct stat *st, const struct access_inode *ino,
		      const struct verdict *v);

void doctor_print_text(const struct doctor *dr);

/* Print the document, with entries (taken over: NULL gives null) as its
 * "entries". */
void doctor_print_json(const struct doctor *dr, struct json_object *entries);

#endif
