/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Output helpers shared by the verbs: JSON through json-c, with every
 * string valid UTF-8 (json_string_bytes()), and commands quoted for the
 * shell (sh_quote()), text for a terminal escaped (tty_escape()): file
 * names come from trees other users write.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/*
 * Every string in the tree made valid UTF-8 (json_add_bytes() in objects,
 * so that the exact bytes stay available as KEY_hex): names read from a
 * tree, mountinfo or a state file are whatever bytes their creator chose.
 */
static void json_sanitize(struct json_object *o)
{
	size_t i, n;

	if (json_object_is_type(o, json_type_array)) {
		n = json_object_array_length(o);
		for (i = 0; i < n; i++) {
			struct json_object *v = json_object_array_get_idx(o, i);

			if (!json_object_is_type(v, json_type_string)) {
				json_sanitize(v);
				continue;
			}
			if (utf8_valid(json_object_get_string(v)))
				continue;
			json_object_array_put_idx(
				o, i, json_string_bytes(json_object_get_string(v)));
		}
	} else if (json_object_is_type(o, json_type_object)) {
		char *keys[256];
		size_t nk = 0;

		json_object_object_foreach(o, k, v)
		{
			if (!json_object_is_type(v, json_type_string))
				json_sanitize(v);
			else if (!utf8_valid(json_object_get_string(v)) &&
				 nk < 256 && (keys[nk] = strdup(k)))
				nk++;
		}
		for (i = 0; i < nk; i++) {
			char *copy = strdup(json_object_get_string(
				json_object_object_get(o, keys[i])));

			if (!copy)
				die(EXIT_FAIL, "out of memory");
			json_add_bytes(o, keys[i], copy);
			free(copy);
			free(keys[i]);
		}
	}
}

void json_print(struct json_object *obj)
{
	json_sanitize(obj);
	puts(json_object_to_json_string_ext(
		obj, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
			     JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(obj);
}

char *sh_quote(const char *word)
{
	static const char safe[] = "abcdefghijklmnopqrstuvwxyz"
				   "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				   "0123456789_@%+=:,./-";
	size_t n = 0, quotes = 0;
	const char *s;
	char *out, *o;

	for (s = word; *s; s++) {
		n++;
		if (*s == '\'')
			quotes++;
	}
	if (n && strspn(word, safe) == n) {
		out = strdup(word);
		if (!out)
			die(EXIT_FAIL, "out of memory");
		return out;
	}
	/* 'it'\''s': each quote closes, adds an escaped one, reopens. */
	out = malloc(n + quotes * 3 + 3);
	if (!out)
		die(EXIT_FAIL, "out of memory");
	o = out;
	*o++ = '\'';
	for (s = word; *s; s++) {
		if (*s == '\'') {
			memcpy(o, "'\\''", 4);
			o += 4;
		} else {
			*o++ = *s;
		}
	}
	*o++ = '\'';
	*o = '\0';
	return out;
}

/* Length of the valid UTF-8 sequence at s (RFC 3629), or 0. */
static size_t utf8_seq(const unsigned char *s)
{
	unsigned c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		unsigned lo = c == 0xe0 ? 0xa0 : 0x80;
		unsigned hi = c == 0xed ? 0x9f : 0xbf; /* no surrogates */

		return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 ? 3
									 : 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		unsigned lo = c == 0xf0 ? 0x90 : 0x80;
		unsigned hi = c == 0xf4 ? 0x8f : 0xbf; /* <= U+10FFFF */

		return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 &&
				       (s[3] & 0xc0) == 0x80
			       ? 4
			       : 0;
	}
	return 0;
}

/*
 * A code point a terminal may act on rather than show: C0 controls (ESC,
 * CR, BEL, newline, tab), DEL, C1 controls (U+0080..U+009F; U+009B is CSI
 * on some terminals), and the invisible direction marks and overrides
 * (U+200E, U+200F, U+202A..U+202E, U+2066..U+2069) that reorder a line
 * on screen.
 */
static bool tty_unsafe_cp(uint32_t cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) ||
	       cp == 0x200e || cp == 0x200f ||
	       (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069);
}

/* The code point of the valid n-byte UTF-8 sequence at s. */
static uint32_t utf8_cp(const unsigned char *s, size_t n)
{
	switch (n) {
	case 1:
		return s[0];
	case 2:
		return (uint32_t)(s[0] & 0x1f) << 6 | (s[1] & 0x3f);
	case 3:
		return (uint32_t)(s[0] & 0x0f) << 12 |
		       (uint32_t)(s[1] & 0x3f) << 6 | (s[2] & 0x3f);
	}
	return (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3f) << 12 |
	       (uint32_t)(s[2] & 0x3f) << 6 | (s[3] & 0x3f);
}

/* Bytes of the character at s that may go to a terminal as they are; 0:
 * escape the byte at s. */
static size_t tty_ok_len(const unsigned char *s)
{
	size_t n = utf8_seq(s);

	if (!n || tty_unsafe_cp(utf8_cp(s, n)))
		return 0;
	return n;
}

bool tty_safe(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t n = tty_ok_len(p);

		if (!n)
			return false;
		p += n;
	}
	return true;
}

char *tty_escape(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	char *out, *o;

	/* At most 4 bytes out for each byte in ("\xHH"). */
	out = malloc(strlen(s) * 4 + 1);
	if (!out)
		die(EXIT_FAIL, "out of memory");
	for (o = out; *p;) {
		size_t n = tty_ok_len(p);

		if (*p == '\\') {
			*o++ = '\\';
			*o++ = '\\';
			p++;
		} else if (*p == '\n') {
			*o++ = '\\';
			*o++ = 'n';
			p++;
		} else if (n) {
			memcpy(o, p, n);
			o += n;
			p += n;
		} else {
			/* One byte at a time: a C1 control or a direction
			 * mark shows as each of its UTF-8 bytes. */
			o += sprintf(o, "\\x%02x", *p);
			p++;
		}
	}
	*o = '\0';
	return out;
}

bool utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t n = utf8_seq(p);

		if (!n)
			return false;
		p += n;
	}
	return true;
}

struct json_object *json_string_bytes(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	struct json_object *j;
	char *out, *o;

	if (!s)
		return NULL;
	if (utf8_valid(s))
		return json_object_new_string(s);
	/* U+FFFD is 3 bytes for each 1-byte invalid unit. */
	out = malloc(strlen(s) * 3 + 1);
	if (!out)
		die(EXIT_FAIL, "out of memory");
	for (o = out; *p;) {
		size_t n = utf8_seq(p);

		if (n) {
			memcpy(o, p, n);
			o += n;
			p += n;
		} else {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			p++;
		}
	}
	*o = '\0';
	j = json_object_new_string(out);
	free(out);
	return j;
}

struct json_object *json_hex_bytes(const char *s)
{
	struct json_object *j;
	size_t i, n = strlen(s);
	char *hex = malloc(n * 2 + 1);

	if (!hex)
		die(EXIT_FAIL, "out of memory");
	for (i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", (unsigned char)s[i]);
	hex[2 * n] = '\0';
	j = json_object_new_string(hex);
	free(hex);
	return j;
}

void json_add_bytes(struct json_object *obj, const char *key, const char *s)
{
	char hkey[128];

	json_object_object_add(obj, key, json_string_bytes(s));
	if (!s || utf8_valid(s))
		return;
	snprintf(hkey, sizeof(hkey), "%s_hex", key);
	json_object_object_add(obj, hkey, json_hex_bytes(s));
}

