/* SPDX-License-Identifier: GPL-2.0-or-later */
/* parse_u32(): every way a token can be wrong gets its own status. */
#include <errno.h>

#include "parse_int.h"
#include "tap.h"

static int p(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	*out = 0xdeadbeef;
	return parse_u32(s, min, max, out);
}

static void test_edges_accepted(void)
{
	uint32_t v;

	CHECK_EQ(p("0", 0, UINT32_MAX, &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(p("65534", 0, UINT32_MAX, &v), 0);
	CHECK_EQ(v, 65534);
	CHECK_EQ(p("4294967294", 0, UINT32_MAX, &v), 0);
	CHECK_EQ(v, 4294967294u);
	CHECK_EQ(p("4294967295", 0, UINT32_MAX, &v), 0);
	CHECK_EQ(v, 4294967295u);
	CHECK_EQ(p("000123", 0, UINT32_MAX, &v), 0);
	CHECK_EQ(v, 123);
}

static void test_out_of_range(void)
{
	uint32_t v;

	CHECK_EQ(p("4294967296", 0, UINT32_MAX, &v), -ERANGE);
	CHECK_EQ(p("18446744073709551615", 0, UINT32_MAX, &v), -ERANGE);
	CHECK_EQ(p("99999999999999999999999999", 0, UINT32_MAX, &v), -ERANGE);
	CHECK_EQ(p("4294967295", 0, UINT32_MAX - 1, &v), -ERANGE);
	CHECK_EQ(p("0", 1, 10, &v), -ERANGE);
	CHECK_EQ(p("11", 1, 10, &v), -ERANGE);
	CHECK_EQ(v, 0xdeadbeef); /* untouched on error */
	CHECK_EQ(p("10", 1, 10, &v), 0);
	CHECK_EQ(v, 10);
	CHECK_EQ(p("1", 1, 10, &v), 0);
	CHECK_EQ(v, 1);
}

static void test_no_digits(void)
{
	uint32_t v;

	CHECK_EQ(p("", 0, UINT32_MAX, &v), -ECANCELED);
	CHECK_EQ(p("+5", 0, UINT32_MAX, &v), -ECANCELED);
	CHECK_EQ(p("-1", 0, UINT32_MAX, &v), -ECANCELED);
	CHECK_EQ(p("-0", 0, UINT32_MAX, &v), -ECANCELED);
	CHECK_EQ(p(" 5", 0, UINT32_MAX, &v), -ECANCELED);
	CHECK_EQ(p("\t5", 0, UINT32_MAX, &v), -ECANCELED);
	CHECK_EQ(p("x1", 0, UINT32_MAX, &v), -ECANCELED);
	CHECK_EQ(v, 0xdeadbeef);
}

static void test_trailing_junk(void)
{
	uint32_t v;

	CHECK_EQ(p("5 ", 0, UINT32_MAX, &v), -ENOTSUP);
	CHECK_EQ(p("5x", 0, UINT32_MAX, &v), -ENOTSUP);
	CHECK_EQ(p("0x10", 0, UINT32_MAX, &v), -ENOTSUP);
	CHECK_EQ(p("1e3", 0, UINT32_MAX, &v), -ENOTSUP);
	CHECK_EQ(p("5\n", 0, UINT32_MAX, &v), -ENOTSUP);
	CHECK_EQ(p("1:2", 0, UINT32_MAX, &v), -ENOTSUP);
	/* Junk after a too-large number is still junk, not a range error. */
	CHECK_EQ(p("99999999999x", 0, UINT32_MAX, &v), -ENOTSUP);
	CHECK_EQ(v, 0xdeadbeef);
}

static void test_counted(void)
{
	uint32_t v = 0;

	/* Only len bytes are read: the rest may be anything. */
	CHECK_EQ(parse_u32_n("123:456", 3, 0, UINT32_MAX, &v), 0);
	CHECK_EQ(v, 123);
	CHECK_EQ(parse_u32_n("123:456", 4, 0, UINT32_MAX, &v), -ENOTSUP);
	CHECK_EQ(parse_u32_n("123", 0, 0, UINT32_MAX, &v), -ECANCELED);
	CHECK_EQ(parse_u32_n("42949672950", 10, 0, UINT32_MAX, &v), 0);
	CHECK_EQ(v, 4294967295u);
}

static void test_reasons(void)
{
	CHECK_STR(parse_u32_reason(-ECANCELED), "not a number");
	CHECK_STR(parse_u32_reason(-ENOTSUP),
		  "trailing characters after the number");
	CHECK_STR(parse_u32_reason(-ERANGE), "number out of range");
	CHECK_STR(parse_u32_reason(-EIO), "invalid number");
}

static void test_fmt_count(void)
{
	char b[32];

	CHECK_STR(fmt_count(0, b), "0");
	CHECK_STR(fmt_count(999, b), "999");
	CHECK_STR(fmt_count(1000, b), "1,000");
	CHECK_STR(fmt_count(200201, b), "200,201");
	CHECK_STR(fmt_count(18446744073709551615ULL, b),
		  "18,446,744,073,709,551,615");
}

int main(void)
{
	static const struct tap_case cases[] = {
		TAP_CASE(test_edges_accepted), TAP_CASE(test_out_of_range),
		TAP_CASE(test_no_digits),      TAP_CASE(test_trailing_junk),
		TAP_CASE(test_counted),	       TAP_CASE(test_reasons),
		TAP_CASE(test_fmt_count),
	};

	return tap_main(cases, sizeof(cases) / sizeof(cases[0]));
}
