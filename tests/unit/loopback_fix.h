/* What the unit tests' HTTP servers on loopback share
 * (tests/unit/kv_fix.h's scripted server and test_etcd_fake.c's routed
 * one): a free loopback port, and whether a request read so far is whole.
 * Header-only: include it after lib/fmacros.h and cmocka.h. */
#ifndef ZOOINIT_TESTS_LOOPBACK_FIX_H
#define ZOOINIT_TESTS_LOOPBACK_FIX_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Binds a socket to a free loopback port and returns the port; the socket
 * is *keep_fd. Kept bound without listening, it is a port where
 * connecting is refused; listened on, a server's. */
static inline int
loopback_port(int *keep_fd)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	*keep_fd = fd;
	return ntohs(sa.sin_port);
}

/* in (NUL-terminated, inlen bytes) holds the start of an HTTP/1.1
 * request: true when its head and its Content-Length of body are all
 * there, with the body's offset and length in *body and *blen. */
static inline bool
http_request_whole(const char *in, size_t inlen, size_t *body, size_t *blen)
{
	const char *end = strstr(in, "\r\n\r\n"), *cl;
	size_t want = 0;

	if (end == NULL)
		return false;
	cl = strcasestr(in, "\r\nContent-Length:");
	if (cl != NULL && cl < end)
		want = strtoul(cl + 17, NULL, 10);
	*body = (size_t)(end + 4 - in);
	*blen = want;
	return inlen >= *body + want;
}

#endif
