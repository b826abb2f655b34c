#include "autoconf.h"
#include "common/privdrop.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/log.h"

static int get_caps(struct __user_cap_data_struct data[2])
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	memset(data, 0, 2 * sizeof(*data));
	return syscall(SYS_capget, &hdr, data) < 0 ? -errno : 0;
}

uint64_t privdrop_effective(void)
{
	struct __user_cap_data_struct data[2];
	if (get_caps(data))
		return 0;
	return (uint64_t)data[1].effective << 32 | data[0].effective;
}

/* Permitted = effective = `caps` & what we have; nothing inheritable. */
static int set_caps(uint64_t caps)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	int rc = get_caps(data);
	if (rc)
		return rc;
	uint64_t have = (uint64_t)data[1].permitted << 32 | data[0].permitted;
	uint64_t eff = (uint64_t)data[1].effective << 32 | data[0].effective;
	uint64_t inh = (uint64_t)data[1].inheritable << 32 | data[0].inheritable;
	caps &= have;
	/* Nothing to drop (an unprivileged start): capset may be filtered
	 * out by the service manager, so do not call it. */
	if (have == caps && eff == caps && inh == 0)
		return 0;
	memset(data, 0, 2 * sizeof(*data));
	data[0].permitted = data[0].effective = (uint32_t)caps;
	data[1].permitted = data[1].effective = (uint32_t)(caps >> 32);
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -errno;
	return 0;
}

int privdrop(const char *user, uint64_t keep_caps)
{
	/* Ambient capabilities would survive an exec; nothing we run needs
	 * them. EINVAL: a kernel without them. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -errno;
	if (geteuid() != 0) {
		int rc = set_caps(keep_caps);
		if (rc)
			return rc;
		return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ? -errno : 0;
	}
	errno = 0;
	struct passwd *pw = getpwnam(user);
	if (!pw) {
		log_err("privdrop: no user '%s'", user);
		return errno ? -errno : -ENOENT;
	}
	/* 1. keep capabilities across setuid; 2. groups; 3. gid; 4. uid;
	 * 5. trim capabilities; 6. no new privileges. */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return -errno;
	if (setgroups(0, NULL) < 0)
		return -errno;
	if (setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0)
		return -errno;
	if (setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
		return -errno;
	int rc = set_caps(keep_caps);
	if (rc)
		return rc;
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return -errno;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	/* Fail closed: regaining root must be impossible now. */
	if (setuid(0) == 0 && pw->pw_uid != 0)
		return -EPERM;
	return 0;
}
