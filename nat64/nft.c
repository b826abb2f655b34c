/* nftables through libnftnl: see nft.h. The table, as `nft list` shows it:
 *
 *   table inet sixfour {
 *     chain prerouting {
 *       type filter hook prerouting priority raw;
 *       iifname "sixfour0" notrack           # translated: no conntrack
 *       ip daddr A tcp dport MIN-MAX meta mark set M notrack   # shared mode
 *       ip daddr A udp dport MIN-MAX meta mark set M notrack
 *       ip daddr A icmp type echo-reply icmp id MIN-MAX meta mark set M notrack
 *       ip daddr A icmp type {3, 11} (quoted source port MIN-MAX) mark set M notrack
 *       ip6 daddr PREFIX notrack               # routed to the TUN
 *       ip daddr POOL notrack
 *     }
 *   }
 *
 * A `ct state` load (no verdict) comes first: it makes the kernel register
 * its defragmentation hooks for this namespace (priority -400, before this
 * chain), so non-first IPv4 fragments, which carry no ports, are steered
 * with their first fragment as one datagram. notrack still keeps the
 * translated flows out of the connection table.
 *
 * The mark sends steered packets to the TUN through the policy rule (see
 * netlink.h). Errors quoting ICMP (not TCP/UDP) and quoted headers with IP
 * options are not steered in shared mode. */
#include "autoconf.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "nat64/nft.h"

#define CHAIN "prerouting"
#define CHAIN_FORWARD "forward"
#define BATCH_SIZE (256 * 1024)

struct batch {
	struct mnl_nlmsg_batch *b;
	uint32_t seq;
	bool oom;
};

static struct nftnl_expr *expr(struct nftnl_rule *r, const char *name)
{
	struct nftnl_expr *e = nftnl_expr_alloc(name);
	if (e)
		nftnl_rule_add_expr(r, e);
	return e;
}

static void e_meta_load(struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr *e = expr(r, "meta");
	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
}

static void e_cmp(struct nftnl_rule *r, uint32_t op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = expr(r, "cmp");
	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
}

static void e_payload(struct nftnl_rule *r, uint32_t base, uint32_t off, uint32_t len)
{
	struct nftnl_expr *e = expr(r, "payload");
	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
}

static void e_mask(struct nftnl_rule *r, const void *mask, uint32_t len)
{
	static const uint8_t zero[16];
	struct nftnl_expr *e = expr(r, "bitwise");
	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero, len);
}

static void match_u8(struct nftnl_rule *r, uint32_t meta_key, uint8_t v)
{
	e_meta_load(r, meta_key);
	e_cmp(r, NFT_CMP_EQ, &v, 1);
}

/* [min, max] of a big-endian 16-bit field at `off` of the transport header. */
static void match_port_range(struct nftnl_rule *r, uint32_t off, uint16_t min, uint16_t max)
{
	uint16_t lo = htons(min), hi = htons(max);
	e_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, off, 2);
	e_cmp(r, NFT_CMP_GTE, &lo, 2);
	e_cmp(r, NFT_CMP_LTE, &hi, 2);
}

static void match_th_u8(struct nftnl_rule *r, uint32_t off, uint8_t v)
{
	e_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, off, 1);
	e_cmp(r, NFT_CMP_EQ, &v, 1);
}

static void match_daddr(struct nftnl_rule *r, const struct cidr *c)
{
	bool v4 = c->family == AF_INET;
	match_u8(r, NFT_META_NFPROTO, v4 ? NFPROTO_IPV4 : NFPROTO_IPV6);
	uint32_t len = v4 ? 4 : 16;
	e_payload(r, NFT_PAYLOAD_NETWORK_HEADER, v4 ? 16 : 24, len);
	uint8_t mask[16] = { 0 };
	for (unsigned i = 0; i < c->len; i++)
		mask[i / 8] |= (uint8_t)(0x80 >> (i % 8));
	if (c->len < len * 8)
		e_mask(r, mask, len);
	e_cmp(r, NFT_CMP_EQ, v4 ? (const void *)&c->addr.v4 : (const void *)&c->addr.v6, len);
}

static void e_ct_state_load(struct nftnl_rule *r)
{
	struct nftnl_expr *e = expr(r, "ct");
	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_STATE);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
}

static void set_mark(struct nftnl_rule *r, uint32_t mark)
{
	struct nftnl_expr *e = expr(r, "immediate");
	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_1);
		nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, &mark, sizeof(mark));
	}
	e = expr(r, "meta");
	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, NFT_META_MARK);
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_SREG, NFT_REG_1);
	}
}

static void e_drop(struct nftnl_rule *r)
{
	struct nftnl_expr *e = expr(r, "immediate");
	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, NF_DROP);
	}
}

static struct nftnl_rule *rule_in(const char *chain)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	if (!r)
		return NULL;
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NAT64_NFT_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	return r;
}

static struct nftnl_rule *rule_new(void)
{
	return rule_in(CHAIN);
}

/* Appends the rule (notrack first appended as its last expression). */
static void rule_put(struct batch *b, struct nftnl_rule *r, bool notrack)
{
	if (!r) {
		b->oom = true;
		return;
	}
	if (notrack && !expr(r, "notrack"))
		b->oom = true;
	struct nlmsghdr *nlh = nftnl_rule_nlmsg_build_hdr(mnl_nlmsg_batch_current(b->b),
		NFT_MSG_NEWRULE, NFPROTO_INET, NLM_F_APPEND | NLM_F_CREATE, b->seq++);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	if (!mnl_nlmsg_batch_next(b->b))
		b->oom = true;
}

static void table_msg(struct batch *b, uint16_t type, uint16_t flags)
{
	struct nftnl_table *t = nftnl_table_alloc();
	if (!t) {
		b->oom = true;
		return;
	}
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, NAT64_NFT_TABLE);
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	struct nlmsghdr *nlh = nftnl_table_nlmsg_build_hdr(mnl_nlmsg_batch_current(b->b), type,
							   NFPROTO_INET, flags, b->seq++);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	mnl_nlmsg_batch_next(b->b);
}

static void chain_msg(struct batch *b, const char *name, uint32_t hook, int32_t prio)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	if (!c) {
		b->oom = true;
		return;
	}
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, NAT64_NFT_TABLE);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hook);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, prio);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	struct nlmsghdr *nlh = nftnl_chain_nlmsg_build_hdr(mnl_nlmsg_batch_current(b->b),
		NFT_MSG_NEWCHAIN, NFPROTO_INET, NLM_F_CREATE, b->seq++);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	nftnl_chain_free(c);
	mnl_nlmsg_batch_next(b->b);
}

static void steer_rules(struct batch *b, const struct nat64_nft_cfg *cfg,
			const struct nat64_nft_steer *s)
{
	struct cidr host = { .family = AF_INET, .len = 32, .addr.v4 = s->addr };
	static const uint8_t l4[] = { IPPROTO_TCP, IPPROTO_UDP };
	for (size_t k = 0; k < ARRAY_SIZE(l4); k++) {
		struct nftnl_rule *r = rule_new();
		if (r) {
			match_daddr(r, &host);
			match_u8(r, NFT_META_L4PROTO, l4[k]);
			match_port_range(r, 2, s->port_min, s->port_max);
			set_mark(r, cfg->mark);
		}
		rule_put(b, r, true);
	}
	/* Echo replies carry our identifier at offset 4. */
	struct nftnl_rule *r = rule_new();
	if (r) {
		match_daddr(r, &host);
		match_u8(r, NFT_META_L4PROTO, IPPROTO_ICMP);
		match_th_u8(r, 0, ICMP_ECHOREPLY);
		match_port_range(r, 4, s->port_min, s->port_max);
		set_mark(r, cfg->mark);
	}
	rule_put(b, r, true);
	/* Errors quote our packet: its source port sits at 8 + 20 + 0 when
	 * the quoted header has no options. */
	static const uint8_t errs[] = { ICMP_DEST_UNREACH, ICMP_TIME_EXCEEDED };
	for (size_t k = 0; k < ARRAY_SIZE(errs); k++) {
		r = rule_new();
		if (r) {
			match_daddr(r, &host);
			match_u8(r, NFT_META_L4PROTO, IPPROTO_ICMP);
			match_th_u8(r, 0, errs[k]);
			match_port_range(r, 28, s->port_min, s->port_max);
			set_mark(r, cfg->mark);
		}
		rule_put(b, r, true);
	}
}

/* Sends the batch and waits for the kernel's verdict on it. */
static int send_batch(struct batch *b)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl)
		return -errno;
	int rc = 0;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		rc = -errno;
		goto out;
	}
	if (mnl_socket_sendto(nl, mnl_nlmsg_batch_head(b->b), mnl_nlmsg_batch_size(b->b)) < 0) {
		rc = -errno;
		goto out;
	}
	uint32_t portid = mnl_socket_get_portid(nl);
	char buf[16384];
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0) {
			rc = -errno;
			break;
		}
		int cb = mnl_cb_run(buf, (size_t)n, 0, portid, NULL, NULL);
		if (cb < 0) {
			rc = -errno;
			break;
		}
		if (cb == MNL_CB_STOP)
			break;
	}
out:
	mnl_socket_close(nl);
	return rc;
}

static int run(bool install, const struct nat64_nft_cfg *cfg)
{
	char *buf = malloc(BATCH_SIZE);
	if (!buf)
		return -ENOMEM;
	struct batch b = { .seq = (uint32_t)time(NULL) };
	b.b = mnl_nlmsg_batch_start(buf, BATCH_SIZE);
	nftnl_batch_begin(mnl_nlmsg_batch_current(b.b), b.seq++);
	mnl_nlmsg_batch_next(b.b);
	/* "add; delete; add" in one transaction replaces the table whether
	 * or not it existed, and never leaves it half-built. */
	table_msg(&b, NFT_MSG_NEWTABLE, NLM_F_CREATE);
	table_msg(&b, NFT_MSG_DELTABLE, install ? 0 : NLM_F_ACK);
	if (install) {
		table_msg(&b, NFT_MSG_NEWTABLE, NLM_F_CREATE);
		/* Before connection tracking (NF_IP_PRI_CONNTRACK = -200). */
		chain_msg(&b, CHAIN, NF_INET_PRE_ROUTING, -300);
		struct nftnl_rule *r;
		if (cfg->nsteer) {
			r = rule_new();
			if (r)
				e_ct_state_load(r);
			rule_put(&b, r, false);
		}
		r = rule_new();
		if (r) {
			char name[IFNAMSIZ] = { 0 };
			strlcpy_ok(name, cfg->tun, sizeof(name));
			e_meta_load(r, NFT_META_IIFNAME);
			e_cmp(r, NFT_CMP_EQ, name, IFNAMSIZ);
		}
		rule_put(&b, r, true);
		for (size_t i = 0; i < cfg->nsteer; i++)
			steer_rules(&b, cfg, &cfg->steer[i]);
		for (size_t i = 0; i < cfg->nnotrack; i++) {
			r = rule_new();
			if (r)
				match_daddr(r, &cfg->notrack[i]);
			rule_put(&b, r, true);
		}
		/* A packet for an address the node does not hold (a cluster's
		 * virtual address, doc/cluster.md) is not forwarded: while
		 * keepalived moves it, two nodes with stale neighbour entries
		 * would send it back and forth until its hop limit ran out. */
		if (cfg->nno_forward)
			chain_msg(&b, CHAIN_FORWARD, NF_INET_FORWARD, 0);
		for (size_t i = 0; i < cfg->nno_forward; i++) {
			r = rule_in(CHAIN_FORWARD);
			if (r) {
				match_daddr(r, &cfg->no_forward[i]);
				e_drop(r);
			}
			rule_put(&b, r, false);
		}
		/* The last message asks for the ack that ends the exchange. */
		table_msg(&b, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_ACK);
	}
	nftnl_batch_end(mnl_nlmsg_batch_current(b.b), b.seq++);
	mnl_nlmsg_batch_next(b.b);
	int rc = b.oom ? -ENOMEM : send_batch(&b);
	mnl_nlmsg_batch_stop(b.b);
	free(buf);
	return rc;
}

int nat64_nft_apply(const struct nat64_nft_cfg *cfg)
{
	int rc = run(true, cfg);
	if (rc)
		log_err("nat64: installing nftables table %s: %s", NAT64_NFT_TABLE, strerror(-rc));
	return rc;
}

int nat64_nft_remove(void)
{
	int rc = run(false, NULL);
	if (rc && rc != -ENOENT)
		log_warn("nat64: removing nftables table %s: %s", NAT64_NFT_TABLE, strerror(-rc));
	return rc == -ENOENT ? 0 : rc;
}
