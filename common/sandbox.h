/* seccomp allow-lists (libseccomp), installed once start-up is over: the
 * lists themselves are in sandbox_lists.h. */
#ifndef SIXFOUR_SANDBOX_H
#define SIXFOUR_SANDBOX_H

enum sandbox_role {
	SANDBOX_SIXFOURD,	/* sixfourd after privileges are dropped */
	SANDBOX_PRIV,		/* sixfourd's privileged helper */
	SANDBOX_HANDOFFD,	/* sixfour-handoffd */
};

/* Installs the role's filter for the calling process (every thread it has
 * and will have). A call outside the list kills the whole process after a
 * log line naming the call. 0 or -errno (the caller must exit); 0 and an
 * info line when the build has no seccomp (--disable-seccomp). Call it after
 * privdrop() (which sets no_new_privs). */
int sandbox_enter(enum sandbox_role role);

/* The role's name in messages ("sixfourd", "sixfourd-priv", ...). */
const char *sandbox_role_name(enum sandbox_role role);

#endif
