/* Parsers of common/util.c: prefixes, endpoints, durations, sizes, lists. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdlib.h>

#include "common/util.h"
#include "tap.h"

static int count_item(const char *item, void *arg)
{
	(*(int *)arg)++;
	return strcmp(item, "stop") == 0 ? 7 : 0;
}

int main(void)
{
	plan(49);
	struct cidr c;
	char buf[128];
	ok(cidr_parse("2001:db8::/32", &c, false) == 0 && c.family == AF_INET6 && c.len == 32,
	   "IPv6 prefix");
	ok(cidr_parse("2001:db8::1/32", &c, false) == -EINVAL, "host bits refused");
	ok(cidr_parse("2001:db8::1/32", &c, true) == 0, "host bits masked when allowed");
	cidr_format(&c, buf, sizeof(buf));
	is_str(buf, "2001:db8::/32", "masked and formatted");
	ok(cidr_parse("192.0.2.0/24", &c, false) == 0 && c.family == AF_INET, "IPv4 prefix");
	ok(cidr_parse("192.0.2.0/33", &c, false) == -EINVAL, "IPv4 length > 32");
	ok(cidr_parse("::/129", &c, false) == -EINVAL, "IPv6 length > 128");
	ok(cidr_parse("10.0.0.0/", &c, false) == -EINVAL, "empty length");
	ok(cidr_parse("10.0.0.0/8x", &c, false) == -EINVAL, "junk after length");
	ok(cidr_parse("banana", &c, false) == -EINVAL, "not an address");
	ok(cidr_parse("10.0.0.1", &c, false) == 0 && c.len == 32, "bare address is a /32");
	ok(cidr_parse("198.51.100.129/25", &c, false) == -EINVAL, "IPv4 host bits refused");
	ok(cidr_parse("198.51.100.129/25", &c, true) == 0 && c.len == 25, "IPv4 host bits allowed");
	cidr_format(&c, buf, sizeof(buf));
	is_str(buf, "198.51.100.128/25", "IPv4 masked inside an octet");
	ok(cidr_parse("0.0.0.0/0", &c, false) == 0 && c.len == 0 &&
	   cidr_parse("::1/128", &c, false) == 0 && c.len == 128, "the shortest and longest lengths");
	ok(cidr_parse("2001:db8::4000:0/97", &c, false) == -EINVAL &&
	   cidr_parse("2001:db8::8000:0/96", &c, true) == 0, "IPv6 host bits inside an octet");
	cidr_format(&c, buf, sizeof(buf));
	is_str(buf, "2001:db8::/96", "IPv6 masked to its length");
	struct cidr a, b;
	cidr_parse("10.0.0.0/8", &a, false);
	cidr_parse("10.9.0.0/16", &b, false);
	ok(cidr_overlap(&a, &b) && cidr_overlap(&b, &a), "overlap both ways");
	cidr_parse("11.0.0.0/8", &b, false);
	ok(!cidr_overlap(&a, &b), "disjoint");

	struct endpoint ep;
	ok(endpoint_parse("[::]:53", 0, &ep) == 0 && ep.ss.ss_family == AF_INET6, "[v6]:port");
	endpoint_format(&ep, buf, sizeof(buf));
	is_str(buf, "[::]:53", "endpoint format v6");
	ok(endpoint_parse("192.0.2.1", 53, &ep) == 0, "v4 with default port");
	endpoint_format(&ep, buf, sizeof(buf));
	is_str(buf, "192.0.2.1:53", "endpoint format v4");
	ok(endpoint_parse("2001:db8::1", 53, &ep) == 0, "bare v6 takes the default port");
	ok(endpoint_parse("1.2.3.4:70000", 53, &ep) == -EINVAL, "port > 65535");
	ok(endpoint_parse("[::1", 53, &ep) == -EINVAL, "unclosed bracket");
	ok(endpoint_parse("[::1]x", 53, &ep) == -EINVAL, "junk after bracket");

	uint64_t ms;
	ok(duration_parse_ms("30", &ms) == 0 && ms == 30000, "bare number is seconds");
	ok(duration_parse_ms("500ms", &ms) == 0 && ms == 500, "ms");
	ok(duration_parse_ms("2h", &ms) == 0 && ms == 7200000, "h");
	ok(duration_parse_ms("5x", &ms) == -EINVAL, "unknown unit");
	ok(duration_parse_ms("-5", &ms) == -EINVAL, "negative");
	ok(duration_parse_ms("99999999999999999999d", &ms) != 0, "overflow");
	duration_format_ms(7440000, buf, sizeof(buf));
	is_str(buf, "124m", "duration canonical form");
	duration_format_ms(1500, buf, sizeof(buf));
	is_str(buf, "1500ms", "duration canonical form ms");
	uint64_t sz;
	ok(size_parse("64M", &sz) == 0 && sz == 64u << 20, "size M");
	ok(size_parse("4k", &sz) == 0 && sz == 4096, "size k");
	ok(size_parse("4q", &sz) == -EINVAL, "size unit");
	size_format(3u << 30, buf, sizeof(buf));
	is_str(buf, "3G", "size canonical");
	ok(size_parse("64K", &sz) == 0 && sz == 64u << 10 && size_parse("1g", &sz) == 0 &&
	   sz == 1u << 30, "size suffixes in either case");
	ok(size_parse("4kk", &sz) == -EINVAL && duration_parse_ms("5S", &ms) == -EINVAL,
	   "a longer size suffix, or a duration in another case, is refused");
	size_format(1536, buf, sizeof(buf));
	is_str(buf, "1536", "a size no unit divides is written in octets");
	size_format(0, buf, sizeof(buf));
	is_str(buf, "0", "size zero");
	duration_format_ms(0, buf, sizeof(buf));
	is_str(buf, "0s", "duration zero");
	ok(size_parse("20T", &sz) == 0 && sz == 20ull << 40, "size T (a monthly quota)");
	size_format(20ull << 40, buf, sizeof(buf));
	is_str(buf, "20T", "size canonical T");
	is_int(crc32_buf("123456789", 9), 0xcbf43926u, "CRC-32 check value");

	int n = 0;
	ok(list_foreach(" a, b  c,,d ", count_item, &n) == 0 && n == 4, "list splits on , and space");
	n = 0;
	ok(list_foreach("a stop b", count_item, &n) == 7 && n == 2, "list stops at a callback error");
	return tap_done();
}
