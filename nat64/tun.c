/* TUN queues: see tun.h. */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "nat64/tun.h"
#include "nat64/vnet.h"

static int open_queues(const char *name, unsigned nqueues, bool vnet, int *fds)
{
	for (unsigned i = 0; i < nqueues; i++)
		fds[i] = -1;
	for (unsigned i = 0; i < nqueues; i++) {
		int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			int e = -errno;
			tun_close(fds, nqueues);
			return e;
		}
		struct ifreq ifr = { 0 };
		/* No packet-information header: the IP version nibble tells
		 * IPv4 from IPv6. */
		ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_MULTI_QUEUE | (vnet ? IFF_VNET_HDR : 0);
		strlcpy_ok(ifr.ifr_name, name, sizeof(ifr.ifr_name));
		if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
			int e = -errno;
			close(fd);
			tun_close(fds, nqueues);
			return e;
		}
		fds[i] = fd;
	}
	return 0;
}

/* The offloads, most first: the kernel refuses a set with a bit it does
 * not know (EINVAL), which is how a newer feature is probed. */
static const unsigned offload_sets[] = {
	TUN_OFFLOAD_CSUM | TUN_OFFLOAD_TSO4 | TUN_OFFLOAD_TSO6 | TUN_OFFLOAD_TSO_ECN |
		TUN_OFFLOAD_USO4 | TUN_OFFLOAD_USO6,
	TUN_OFFLOAD_CSUM | TUN_OFFLOAD_TSO4 | TUN_OFFLOAD_TSO6 | TUN_OFFLOAD_TSO_ECN,
};

/* Header size and offloads are the device's (every queue shares them). */
static int negotiate(int fd, unsigned *features)
{
	int hdr = NAT64_VNET_HDR_LEN;
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0)
		return -errno;
	int e = -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(offload_sets); i++) {
		if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)offload_sets[i]) == 0) {
			*features = offload_sets[i];
			return 0;
		}
		e = -errno;
	}
	return e;
}

int tun_open(const char *name, unsigned nqueues, bool offload, int *fds,
	     struct tun_offload *got)
{
	if (!name || strlen(name) >= IFNAMSIZ || nqueues == 0)
		return -EINVAL;
	*got = (struct tun_offload){ 0 };
	if (offload) {
		int rc = open_queues(name, nqueues, true, fds);
		unsigned features = 0;
		if (rc == 0 && (rc = negotiate(fds[0], &features)) == 0) {
			got->vnet_len = NAT64_VNET_HDR_LEN;
			got->features = features;
			return 0;
		}
		tun_close(fds, nqueues);
		log_notice("nat64: TUN offloads refused by the kernel (%s); packets go one "
			   "by one", strerror(-rc));
	}
	return open_queues(name, nqueues, false, fds);
}

void tun_close(int *fds, unsigned nqueues)
{
	for (unsigned i = 0; i < nqueues; i++)
		if (fds[i] >= 0) {
			close(fds[i]);
			fds[i] = -1;
		}
}

void tun_offload_name(unsigned features, char *buf, size_t len)
{
	static const struct { unsigned bit; const char *name; } names[] = {
		{ TUN_OFFLOAD_CSUM, "csum" }, { TUN_OFFLOAD_TSO4, "tso4" },
		{ TUN_OFFLOAD_TSO6, "tso6" }, { TUN_OFFLOAD_TSO_ECN, "ecn" },
		{ TUN_OFFLOAD_USO4, "uso4" }, { TUN_OFFLOAD_USO6, "uso6" },
	};
	size_t off = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(names) && off < len; i++)
		if (features & names[i].bit)
			off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? " " : "",
						names[i].name);
	if (off == 0)
		snprintf(buf, len, "none");
}
