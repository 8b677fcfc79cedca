#include "lib/fmacros.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/file.h"
#include "lib/xmalloc.h"

int
file_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Replaces path with data as one step: a temp file in the same dir is
 * written, synced and renamed over path, then the dir is synced. */
int
file_write_atomic(const char *path, const char *data, mode_t mode, char *err,
    size_t errlen)
{
	char *tmp = xasprintf("%s.tmp", path);
	size_t len = strlen(data);
	int fd, rc = -1;

	/* A temp file left by a crash may have another mode: start afresh.
	 * In a dir someone else can write, a link planted as PATH.tmp must
	 * not be followed: O_EXCL (and O_NOFOLLOW) fail on one. */
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    mode);
	if (fd < 0) {
		snprintf(err, errlen, "cannot write %s: %s", tmp,
		    strerror(errno));
		goto out;
	}
	/* umask may have narrowed the mode open() got. */
	if (file_write_all(fd, data, len) < 0 || fchmod(fd, mode) < 0 ||
	    fsync(fd) < 0) {
		snprintf(err, errlen, "cannot write %s: %s", tmp,
		    strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, path,
		    strerror(errno));
		unlink(tmp);
		goto out;
	}
	(void)file_sync_dir_of(path);
	rc = 0;
out:
	free(tmp);
	return rc;
}

int
file_rename_sync(const char *from, const char *to, char *err, size_t errlen)
{
	if (rename(from, to) < 0) {
		snprintf(err, errlen, "cannot rename %s to %s: %s", from, to,
		    strerror(errno));
		return -1;
	}
	if (file_sync_dir_of(to) < 0) {
		snprintf(err, errlen, "renamed %s but cannot sync its "
		    "directory: %s", to, strerror(errno));
		return -1;
	}
	return 0;
}

int
file_sync_dir_of(const char *path)
{
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	int fd, rc, e;

	if (slash == dir)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	fd = open(slash != NULL ? dir : ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC);
	rc = fd < 0 || fsync(fd) < 0 ? -1 : 0;
	e = errno;
	if (fd >= 0)
		close(fd);
	free(dir);
	errno = e;
	return rc;
}

int
file_mktemp(const char *prefix, char **path, char *err, size_t errlen)
{
	/* mkostemp() fills in a template's last six characters, which
	 * must be six X's. */
	char *p = xasprintf("%sXXXXXX", prefix);
	int fd = mkostemp(p, O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "cannot create a temporary file %s...: "
		    "%s", prefix, strerror(errno));
		free(p);
		p = NULL;
	}
	*path = p;
	return fd;
}

/* Creates dir and its missing parents with mode; existing ones are left
 * as they are. */
int
file_mkdirs(const char *dir, mode_t mode, char *err, size_t errlen)
{
	char *p = xstrdup(dir);
	struct stat st;
	int rc = -1;

	for (char *c = p + 1; ; c++) {
		if (*c != '/' && *c != '\0')
			continue;
		char saved = *c;

		*c = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST) {
			snprintf(err, errlen, "cannot create %s: %s", p,
			    strerror(errno));
			goto out;
		}
		*c = saved;
		if (saved == '\0')
			break;
	}
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s exists but is not a directory; move "
		    "it away", dir);
		goto out;
	}
	rc = 0;
out:
	free(p);
	return rc;
}

bool
file_dir_has_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool yes = false;

	if (d == NULL)
		return false;
	while (!yes && (e = readdir(d)) != NULL)
		yes = strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return yes;
}

/* nftw() has no argument for its callback: the first failure is kept
 * here for file_remove_tree(), which is not reentrant. */
static int remove_errno;
static char remove_what[512];

static int
remove_entry(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if ((flag == FTW_DP ? rmdir(path) : unlink(path)) == 0 ||
	    errno == ENOENT)
		return 0;
	remove_errno = errno;
	snprintf(remove_what, sizeof(remove_what), "%s", path);
	return 1;
}

int
file_remove_tree(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "cannot remove %s: %s", path,
		    strerror(errno));
		return -1;
	}
	remove_errno = 0;
	/* Depth first, so a directory is empty when its turn comes; FTW_PHYS
	 * removes links themselves; FTW_MOUNT stays on path's file system. */
	if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT)
	    != 0) {
		snprintf(err, errlen, "cannot remove %s: %s",
		    remove_errno ? remove_what : path,
		    strerror(remove_errno ? remove_errno : errno));
		return -1;
	}
	return 0;
}
