/* Test helper: a sockaddr from an IPv4 or IPv6 address in text. */
#ifndef SIXFOUR_SOCKADDR_TEXT_H
#define SIXFOUR_SOCKADDR_TEXT_H

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

static inline struct sockaddr_storage test_addr(const char *text)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	if (strchr(text, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, text, &s6->sin6_addr);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		inet_pton(AF_INET, text, &s4->sin_addr);
	}
	return ss;
}

#endif
