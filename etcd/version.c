#include "lib/fmacros.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "etcd/version.h"
#include "lib/loop.h"
#include "lib/proc.h"
#include "lib/xmalloc.h"

#define VERSION_OUT_MAX 4096

int
etcd_version_parse(const char *text, struct etcd_version *v)
{
	static const char key[] = "etcd Version: ";
	const char *p = text;

	/* The line may come first or after others; match at line starts. */
	while (p != NULL) {
		if (strncmp(p, key, sizeof(key) - 1) == 0) {
			unsigned a, b, c;
			int n = 0;

			if (sscanf(p + sizeof(key) - 1, "%u.%u.%u%n", &a, &b,
			    &c, &n) == 3 && n > 0) {
				*v = (struct etcd_version){ a, b, c };
				return 0;
			}
			return -1;
		}
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return -1;
}

/* Reads fd until EOF, the cap or the deadline into buf (NUL-terminated).
 * Returns 0 at EOF, -1 on timeout. */
static int
read_all(int fd, char *buf, size_t cap, int64_t deadline)
{
	size_t len = 0;

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - loop_now_ms();
		char discard[512];
		ssize_t n;

		if (left <= 0)
			break;
		if (poll(&pfd, 1, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (len + 1 < cap)
			n = read(fd, buf + len, cap - 1 - len);
		else
			n = read(fd, discard, sizeof(discard));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			buf[len] = '\0';
			return n == 0 ? 0 : -1;
		}
		if (len + 1 < cap)
			len += (size_t)n;
	}
	buf[len] = '\0';
	return -1;
}

int
etcd_version_probe(const char *bin, struct etcd_version *v, char *err,
    size_t errlen)
{
	char *argv[] = { (char *)bin, (char *)"--version", NULL };
	char out[VERSION_OUT_MAX];
	int pfd[2], status = 0, rc;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "cannot ask %s for its version: pipe: %s",
		    bin, strerror(errno));
		return -1;
	}
	/* proc_spawn_io wants descriptors of 3 or above. */
	pid = proc_spawn_io(argv, NULL, pfd[1], pfd[1]);
	close(pfd[1]);
	if (pid < 0) {
		snprintf(err, errlen, "cannot run %s --version: %s", bin,
		    strerror(errno));
		close(pfd[0]);
		return -1;
	}
	rc = read_all(pfd[0], out, sizeof(out),
	    loop_now_ms() + ETCD_VERSION_TIMEOUT_MS);
	close(pfd[0]);
	if (rc < 0)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (rc < 0) {
		snprintf(err, errlen, "%s --version did not answer within %d s",
		    bin, ETCD_VERSION_TIMEOUT_MS / 1000);
		return -1;
	}
	if (etcd_version_parse(out, v) < 0) {
		snprintf(err, errlen, "%s --version printed no \"etcd Version: "
		    "X.Y.Z\" line; is it etcd?", bin);
		return -1;
	}
	return 0;
}

int
etcd_version_cmp(const struct etcd_version *v, unsigned major,
    unsigned minor)
{
	if (v->major != major)
		return v->major < major ? -1 : 1;
	if (v->minor != minor)
		return v->minor < minor ? -1 : 1;
	return 0;
}

bool
etcd_version_has_v2(const struct etcd_version *v)
{
	return etcd_version_cmp(v, 3, 6) < 0;
}

const char *
etcd_version_str(const struct etcd_version *v, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u.%u", v->major, v->minor, v->patch);
	return buf;
}

/* Where the ELF64 file fd keeps section name (start and size), for a
 * search to begin there; 0 and the whole file when it cannot tell. */
static void
elf_section(int fd, const char *name, off_t *off, off_t *size)
{
	Elf64_Ehdr eh;
	Elf64_Shdr sh, names;
	char got[32];

	*off = 0;
	*size = -1;
	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_shentsize != sizeof(sh) || eh.e_shstrndx >= eh.e_shnum ||
	    pread(fd, &names, sizeof(names), (off_t)(eh.e_shoff +
	    (uint64_t)eh.e_shstrndx * sizeof(sh))) != (ssize_t)sizeof(names))
		return;
	for (unsigned i = 0; i < eh.e_shnum && i < 256; i++) {
		if (pread(fd, &sh, sizeof(sh), (off_t)(eh.e_shoff +
		    (uint64_t)i * sizeof(sh))) != (ssize_t)sizeof(sh) ||
		    pread(fd, got, sizeof(got), (off_t)(names.sh_offset +
		    sh.sh_name)) <= 0)
			return;
		got[sizeof(got) - 1] = '\0';
		if (strcmp(got, name) == 0) {
			*off = (off_t)sh.sh_offset;
			*size = (off_t)sh.sh_size;
			return;
		}
	}
}

bool
etcd_binary_has_v2_discovery(const char *path)
{
	static const char name[] = "api/v2discovery.JoinCluster";
	const size_t keep = sizeof(name) - 2, chunk = 1 << 16;
	char *buf;
	size_t have = 0;
	bool found = false;
	off_t off, left;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	/* Go keeps the names in its .gopclntab section, the names first. */
	elf_section(fd, ".gopclntab", &off, &left);
	buf = xmalloc(chunk + keep);
	/* Chunks, each searched with the last bytes of the one before, so
	 * a name across their border is found too. */
	while (!found && left != 0 &&
	    (n = pread(fd, buf + have, left > 0 && left < (off_t)chunk ?
	    (size_t)left : chunk, off)) > 0) {
		size_t len = have + (size_t)n;

		off += n;
		if (left > 0)
			left -= n;
		found = memmem(buf, len, name, sizeof(name) - 1) != NULL;
		have = len < keep ? len : keep;
		memmove(buf, buf + len - have, have);
	}
	close(fd);
	free(buf);
	return found;
}
