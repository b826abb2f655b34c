/* The control protocol between sixfourctl and sixfourd: a Unix
 * SOCK_SEQPACKET socket; one request message, then one or more reply
 * messages (the last without CTL_MORE) carrying text or JSON. */
#ifndef SIXFOUR_CTL_H
#define SIXFOUR_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CTL_VERSION 1
#define CTL_MAX_ARGS 16
#define CTL_MAX_REQUEST 4096
#define CTL_CHUNK 32768

enum ctl_flags {
	CTL_JSON = 1u << 0,	/* request: answer in JSON */
	CTL_MORE = 1u << 1,	/* reply: more messages follow */
};

struct ctl_req_hdr {
	uint16_t version;
	uint16_t flags;
	uint16_t argc;
	uint16_t reserved;
	/* then argc NUL-terminated strings */
};

struct ctl_reply_hdr {
	uint16_t version;
	uint16_t flags;
	int32_t status;		/* valid in the last message: 0 = success */
	/* then text */
};

/* Output that a command handler builds. */
struct ctl_out {
	char *buf;
	size_t len, cap;
	bool json;
	bool failed;		/* out of memory */
};

void ctl_printf(struct ctl_out *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends `s` as a JSON string literal, quotes included. */
void ctl_json_str(struct ctl_out *out, const char *s);

/* A handler returns this when the arguments belong to another subsystem's
 * command of the same name (e.g. `export radvd` vs `export bind`): rows with
 * one name are tried in table order until one takes the request. */
#define CTL_PASS 0x7f

struct ctl_command {
	const char *name;
	const char *usage;	/* arguments, for help */
	const char *help;
	/* argv[0] is the command name. Returns 0, or a non-zero exit status
	 * with an explanation written to `out`. For a subsystem's commands
	 * `ctx` is the state its start() returned. */
	int (*fn)(void *ctx, int argc, char **argv, struct ctl_out *out);
};

struct evloop;
struct ctl_server;

/* Listens on `path` (created with mode 0660, parent made if missing);
 * commands are looked up in `cmds` (terminated by a NULL name). Command i
 * gets `cmd_ctx[i]` when `cmd_ctx` is given and that entry is not NULL,
 * else `ctx`. */
struct ctl_server *ctl_server_new(struct evloop *loop, const char *path,
				  const struct ctl_command *cmds, void *const *cmd_ctx, void *ctx);
/* Closes the socket and unlinks its path. */
void ctl_server_free(struct ctl_server *srv);

/* Client: sends argv to the daemon at `path`, writes the reply to `out`.
 * Returns the daemon's status, or -errno when the daemon cannot be reached. */
int ctl_call(const char *path, int argc, char **argv, bool json, FILE *out);

#endif
