/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Output helpers shared by the verbs: JSON through json-c. */
#include <stdio.h>

#include "shiftctl.h"

struct json_object *json_idmap(const struct idmap *m)
{
	struct json_object *arr = json_object_new_array();
	uint32_t i;

	for (i = 0; i < m->n; i++) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "disk",
				       json_object_new_int64(m->r[i].disk));
		json_object_object_add(o, "view",
				       json_object_new_int64(m->r[i].view));
		json_object_object_add(o, "count",
				       json_object_new_int64(m->r[i].count));
		json_object_array_add(arr, o);
	}
	return arr;
}

void json_print(struct json_object *obj)
{
	puts(json_object_to_json_string_ext(
		obj, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
			     JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(obj);
}
