/* The privileged helper: see privhelper.h and common/privsep.h. It runs no
 * parser but the configuration file's, talks only to the kernel, and
 * serves one request at a time. */
#include "autoconf.h"
#include "appliance/privhelper.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include "appliance/appliance.h"
#include "common/config.h"
#include "common/log.h"
#include "common/privdrop.h"
#include "common/sandbox.h"
#include "common/subsys.h"

#define MAX_SERVICES 16

struct helper {
	int fd;
	const struct sixfour_config *cfg;
	struct sixfour_config *owned;	/* loaded by a reload, else NULL */
	privhelper_load_fn load;
	const char *arg;
	const struct privsep_ops *ops[MAX_SERVICES];
	void *state[MAX_SERVICES];
	size_t n;
};

struct sixfour_config *privhelper_load(privhelper_load_fn load, const char *arg, const char *who)
{
	struct config_errors errs;
	struct sixfour_config *cfg = load(arg, &errs);
	for (size_t i = 0; !cfg && i < errs.n; i++)
		log_err("%s: reload: %s", who, errs.msg[i]);
	return cfg;
}

int privhelper_child(int fd, const char *comm, const struct sixfour_config *cfg)
{
	static const int ignored[] = { SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGUSR1, SIGUSR2 };
	for (size_t i = 0; i < ARRAY_SIZE(ignored); i++)
		signal(ignored[i], SIG_IGN);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	prctl(PR_SET_NAME, comm, 0, 0, 0);
	return privsep_child_fds(fd, "sixfourd", cfg->general.log_level);
}

static int helper_reload(struct helper *h)
{
	struct sixfour_config *cfg = privhelper_load(h->load, h->arg, "helper");
	if (!cfg)
		return -EINVAL;
	for (size_t i = 0; i < h->n; i++)
		if (h->ops[i]->configure)
			h->ops[i]->configure(h->state[i], cfg);
	config_free(h->owned);
	h->owned = cfg;
	h->cfg = cfg;
	return 0;
}

static int dispatch(struct helper *h, uint16_t type, const uint8_t *req, size_t len,
		    uint8_t *resp, size_t *resp_len)
{
	if (type == PRIVSEP_RELOAD) {
		*resp_len = 0;
		return len ? -EPROTO : helper_reload(h);
	}
	for (size_t i = 0; i < h->n; i++)
		if (type >= h->ops[i]->type_base && type <= h->ops[i]->type_base + 0xff)
			return h->ops[i]->handle(h->state[i], type, req, len, resp, resp_len);
	*resp_len = 0;
	return -EOPNOTSUPP;
}

static void cleanup(struct helper *h)
{
	for (size_t i = h->n; i-- > 0;)
		if (h->ops[i]->cleanup)
			h->ops[i]->cleanup(h->state[i]);
}

static _Noreturn void helper_main(struct helper *h)
{
	/* Signals are for sixfourd; the helper ends when the channel does,
	 * after undoing its work (also when sixfourd was killed). */
	h->fd = privhelper_child(h->fd, "sixfourd-priv", h->cfg);

	uint64_t caps = 0;
	for (size_t i = 0; appliance_subsystems[i]; i++)
		if (appliance_subsystems[i]->priv && h->n < MAX_SERVICES) {
			caps |= appliance_subsystems[i]->caps;
			h->ops[h->n++] = appliance_subsystems[i]->priv;
		}
	int rc = privdrop(h->cfg->general.user, caps);
	/* Not even our own user may read our memory or attach to us. */
	if (!rc && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		rc = -errno;
	if (rc) {
		log_err("helper: dropping privileges to %s: %s", h->cfg->general.user, strerror(-rc));
		_exit(EXIT_FAILURE);
	}
	for (size_t i = 0; i < h->n; i++) {
		h->state[i] = h->ops[i]->init(h->cfg);
		if (!h->state[i]) {
			log_err("helper: out of memory");
			_exit(EXIT_FAILURE);
		}
	}
	if (sandbox_enter(SANDBOX_PRIV) != 0)
		_exit(EXIT_FAILURE);

	static uint8_t req[PRIVSEP_MAX_MSG], resp[PRIVSEP_MAX_MSG];
	for (;;) {
		struct privsep_hdr hdr = { 0 };
		int r = privsep_recv_request(h->fd, &hdr, req, sizeof(req));
		if (r == 0)
			break;
		if (r == -EPROTO) {
			log_warn("helper: malformed request refused");
			privsep_send_reply(h->fd, &hdr, -EPROTO, NULL, 0);
			continue;
		}
		if (r < 0) {
			log_err("helper: reading requests: %s", strerror(-r));
			break;
		}
		size_t resp_len = sizeof(resp) - sizeof(struct privsep_reply_hdr);
		rc = dispatch(h, hdr.type, req, hdr.len, resp, &resp_len);
		if (privsep_send_reply(h->fd, &hdr, rc, resp, rc ? 0 : resp_len) != 0)
			break;
	}
	cleanup(h);
	_exit(EXIT_SUCCESS);
}

struct privsep *privhelper_start(const struct sixfour_config *cfg, privhelper_load_fn load,
				 const char *arg)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		log_err("helper: socketpair: %s", strerror(errno));
		return NULL;
	}
	pid_t pid = fork();
	if (pid < 0) {
		log_err("helper: fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return NULL;
	}
	if (pid == 0) {
		close(sv[0]);
		struct helper h = { .fd = sv[1], .cfg = cfg, .load = load, .arg = arg };
		helper_main(&h);
	}
	close(sv[1]);
	struct privsep *ps = privsep_new(sv[0], pid);
	if (!ps) {
		close(sv[0]);
		return NULL;
	}
	return ps;
}

int privhelper_reload(struct privsep *ps)
{
	return privsep_call(ps, PRIVSEP_RELOAD, NULL, 0, NULL, 0, NULL);
}
