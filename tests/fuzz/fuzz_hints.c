/* libFuzzer target for the hints parsers: the first octet picks the
 * Router Solicitation validator or the DHCPv6 parser; a DHCPv6 message that
 * passes validation is answered through the builder, whose output must
 * parse again. */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hints/dhcpv6.h"
#include "hints/ra_opts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t duid[] = { 0, 3, 0, 1, 2, 0, 0, 0, 0, 1 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	/* Copy so ASan sees reads past the exact input length. */
	size_t len = size - 1;
	uint8_t *p = malloc(len ? len : 1);
	if (!p)
		return 0;
	memcpy(p, data + 1, len);
	if (data[0] & 1) {
		struct ra_rs_info info;
		enum ra_rs_verdict v = ra_rs_parse(p, len, 255, data[0] & 2, &info);
		if ((unsigned)v >= RA_RS_NVERDICTS)
			abort();
	} else {
		struct dhcp6_request req;
		enum dhcp6_verdict v = dhcp6_parse(p, len, &req);
		if ((unsigned)v >= DHCP6_NVERDICTS)
			abort();
		if (v == DHCP6_OK) {
			if (req.client_id && (req.client_id < p || req.client_id + req.client_id_len > p + len))
				abort();
			if (req.server_id && (req.server_id < p || req.server_id + req.server_id_len > p + len))
				abort();
		}
		if (v == DHCP6_OK && dhcp6_validate(&req, duid, sizeof(duid), data[0] & 2) == DHCP6_OK) {
			struct in6_addr dns = { { { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 } } };
			static const uint8_t dom[] = { 3, 'l', 'a', 'b', 0 };
			struct dhcp6_server_info info = { duid, sizeof(duid), &dns, 1, dom,
							  sizeof(dom), 3600 };
			uint8_t out[1500];
			int n = dhcp6_build_answer(&req, &info, out, sizeof(out));
			struct dhcp6_request back;
			if (n <= 0 || dhcp6_parse(out, (size_t)n, &back) != DHCP6_OK)
				abort();
		}
	}
	free(p);
	return 0;
}
