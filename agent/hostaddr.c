#include "lib/fmacros.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/hostaddr.h"

int
hostaddr_toward(const char *ip, char *out, size_t outlen)
{
	struct sockaddr_storage ss = { 0 }, me;
	struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
	socklen_t len = sizeof(me);
	int fd, rc = -1, saved;

	if (inet_pton(AF_INET, ip, &v4->sin_addr) == 1) {
		ss.ss_family = AF_INET;
		v4->sin_port = htons(9);
	} else if (inet_pton(AF_INET6, ip, &v6->sin6_addr) == 1) {
		ss.ss_family = AF_INET6;
		v6->sin6_port = htons(9);
	} else {
		errno = EINVAL;
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&ss, sizeof(ss)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&me, &len) == 0 &&
	    getnameinfo((struct sockaddr *)&me, len, out, (socklen_t)outlen,
	    NULL, 0, NI_NUMERICHOST) == 0)
		rc = 0;
	saved = errno;
	if (fd >= 0)
		close(fd);
	errno = saved;
	return rc;
}

static bool
is_loopback(const char *a)
{
	return strncmp(a, "127.", 4) == 0 || strcmp(a, "::1") == 0;
}

int
hostaddr_for_token(const struct local_addrs *self, const char *disc_addr,
    char *out, size_t outlen, char *err, size_t errlen)
{
	char cand[64] = "", host[64];
	size_t n = 0;

	if (self->n == 1) {
		snprintf(out, outlen, "%s", self->v[0]);
		return 0;
	}
	if (disc_addr != NULL &&
	    hostaddr_toward(disc_addr, host, sizeof(host)) == 0 &&
	    addr_normalise(host, out, outlen) == 0 && !is_loopback(out))
		return 0;
	for (size_t i = 0; i < self->n; i++) {
		const char *v = self->v[i];
		if (is_loopback(v) || strncmp(v, "fe80:", 5) == 0)
			continue;
		snprintf(cand, sizeof(cand), "%s", v);
		n++;
	}
	if (n == 1) {
		snprintf(out, outlen, "%s", cand);
		return 0;
	}
	snprintf(err, errlen, "token discovery needs this host's address, and "
	    "%s; set --ip, --interface or --netmask with --hint", n == 0 ?
	    "it has none but loopback" : "it has several");
	return -1;
}

int
hostaddr_local(const struct cfg *c, struct local_addrs *a, char *err,
    size_t errlen)
{
	const struct local_addr_opts o = { .ip = c->ip,
	    .interface = c->interface, .netmask = c->netmask, .hint = c->hint };

	return local_addrs_get(&o, a, err, errlen);
}
