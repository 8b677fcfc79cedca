#ifndef ZOOINIT_FILE_H
#define ZOOINIT_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Replaces path with the string data in one step: PATH.tmp is created
 * afresh with mode (umask notwithstanding), written, synced and renamed
 * over path, then the directory is synced. Returns 0, or -1 with err set
 * (the temp file removed). */
int file_write_atomic(const char *path, const char *data, mode_t mode,
    char *err, size_t errlen);

/* Writes all n bytes of p to fd, going on after EINTR and short writes.
 * Returns 0, or -1 with errno set (EIO when write() wrote nothing). */
int file_write_all(int fd, const void *p, size_t n);

/* Renames from to to, then fsyncs to's directory. Returns 0, or -1 with
 * err set (from then left where it was when the rename failed). */
int file_rename_sync(const char *from, const char *to, char *err,
    size_t errlen);

/* Syncs the directory that holds path (after a rename or a new entry in
 * it, so the entry survives a crash). Returns 0, or -1 with errno set. */
int file_sync_dir_of(const char *path);

/* Creates a new file named prefix followed by six random characters,
 * mode 0600, close-on-exec. Returns its descriptor and sets *path (free
 * it), or -1 with err set. */
int file_mktemp(const char *prefix, char **path, char *err, size_t errlen);

/* Creates dir and its missing parents with mode; existing ones are left as
 * they are. Returns 0, or -1 with err set (also when dir exists but is not
 * a directory). */
int file_mkdirs(const char *dir, mode_t mode, char *err, size_t errlen);

/* True when dir is a directory that holds at least one entry besides "."
 * and "..". */
bool file_dir_has_entries(const char *dir);

/* Removes path and, when it is a directory, everything under it, never
 * following a symbolic link (a link is removed, not its target). A path
 * that does not exist is fine. Returns 0, or -1 with err set naming the
 * entry that could not be removed. */
int file_remove_tree(const char *path, char *err, size_t errlen);

#endif
