/* libFuzzer target for the handoff wire codec: framing and every payload
 * layout, then a rebuild of what was parsed through the builder (which
 * must accept what the parser accepted and never exceed 1472 octets). */
#include "autoconf.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "handoff/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Copy so ASan sees reads past the exact input length. */
	uint8_t *p = malloc(size ? size : 1);
	if (!p)
		return 0;
	memcpy(p, data, size);
	struct handoff_iter it;
	struct handoff_msg m;
	uint8_t out[HANDOFF_MAX_DGRAM];
	struct handoff_builder b;
	handoff_iter_init(&it, p, size);
	handoff_builder_init(&b, out, sizeof(out));
	int rc;
	while ((rc = handoff_iter_next(&it, &m)) > 0) {
		if (m.raw < p || m.raw + m.raw_len > p + size)
			abort();
		switch (m.type) {
		case HANDOFF_TEXT:
			if (m.u.text.p + m.u.text.len > p + size)
				abort();
			break;
		case HANDOFF_HELLO:
			if (m.u.hello.range_lo > m.u.hello.range_hi)
				break;	/* the builder refuses an inverted range */
			handoff_put_hello(&b, m.u.hello.caps, m.u.hello.nonce, m.u.hello.range_lo,
					  m.u.hello.range_hi, false);
			break;
		case HANDOFF_HELLO_ACK:
			handoff_put_hello_ack(&b, m.u.hello_ack.version, m.u.hello_ack.caps,
					      m.u.hello_ack.nonce, m.u.hello_ack.cookie);
			break;
		case HANDOFF_SESSION:
			handoff_put_session(&b, m.u.session.nonce, m.u.session.cookie);
			break;
		case HANDOFF_ENTRY_CREATED:
		case HANDOFF_ENTRY_DELETED:
			handoff_put_entry(&b, m.type, &m.u.entry);
			break;
		case HANDOFF_ENTRY_ACK:
			handoff_put_entry_ack(&b, m.u.entry_ack.proto, m.u.entry_ack.nat_port,
					      m.u.entry_ack.hint);
			break;
		case HANDOFF_LOOKUP:
			handoff_put_lookup(&b, m.u.lookup.proto, m.u.lookup.nat_port, m.u.lookup.id);
			break;
		case HANDOFF_LOOKUP_REPLY:
			handoff_put_lookup_reply(&b, m.u.lookup_reply.id,
						 m.u.lookup_reply.status == HANDOFF_LOOKUP_FOUND
							 ? &m.u.lookup_reply.er : NULL);
			break;
		case HANDOFF_LOOKUP_CLIENT:
			handoff_put_lookup_client(&b, m.u.lookup_client.proto,
						  m.u.lookup_client.server_port,
						  &m.u.lookup_client.client,
						  m.u.lookup_client.client_port, m.u.lookup_client.id);
			break;
		case HANDOFF_HINT_REQUEST:
			if (m.u.hint_request.count >= 1 && m.u.hint_request.count <= HANDOFF_HINTS_MAX)
				handoff_put_hint_request(&b, m.u.hint_request.proto,
							 m.u.hint_request.count);
			break;
		case HANDOFF_HINTS:
			if (m.u.hints.n == 0 || m.u.hints.n > HANDOFF_HINTS_MAX)
				abort();	/* min_payload promises one port */
			handoff_put_hints(&b, m.u.hints.proto, m.u.hints.port, m.u.hints.n);
			break;
		case HANDOFF_BLOCK:
			handoff_put_block(&b, m.u.block.flags, m.u.block.duration);
			break;
		case HANDOFF_IPV4:
		case HANDOFF_IPV6:
			if (handoff_put_packet(&b, m.raw, m.raw_len) == -EINVAL)
				abort();	/* the parser accepted it, so must the builder */
			break;
		}
		if (b.len > HANDOFF_MAX_DGRAM)
			abort();
	}
	/* Whatever was rebuilt must parse again without a framing error. */
	if (handoff_validate(out, b.len) != 0)
		abort();
	free(p);
	return 0;
}
