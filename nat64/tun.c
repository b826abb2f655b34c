/* TUN queues: see tun.h. */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common/util.h"
#include "nat64/tun.h"

int tun_open(const char *name, unsigned nqueues, int *fds)
{
	if (!name || strlen(name) >= IFNAMSIZ || nqueues == 0)
		return -EINVAL;
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
		ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_MULTI_QUEUE;
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

void tun_close(int *fds, unsigned nqueues)
{
	for (unsigned i = 0; i < nqueues; i++)
		if (fds[i] >= 0) {
			close(fds[i]);
			fds[i] = -1;
		}
}
