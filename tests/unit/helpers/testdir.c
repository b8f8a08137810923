/*
 * testdir.c — temporary directories and file surgery for tests (testdir.h).
 *
 * The one idea: tests damage files with the plain syscalls, never through
 * the engine, so that what they check is what a reopen finds on disk.
 * Left out: nested directories (Chalk's data directory is flat) and Windows.
 * Interview topics: none (test plumbing).
 */
#include "testdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int testdir_make(char *buf, size_t n, const char *tag)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    if ((size_t)snprintf(buf, n, "%s/chalk-%s-XXXXXX", tmp, tag) >= n)
        return -ENAMETOOLONG;
    return mkdtemp(buf) ? 0 : -errno;
}

int testdir_make_fast(char *buf, size_t n, const char *tag)
{
    if (access("/dev/shm", W_OK) == 0 &&
        (size_t)snprintf(buf, n, "/dev/shm/chalk-%s-XXXXXX", tag) < n && mkdtemp(buf))
        return 0;
    return testdir_make(buf, n, tag);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path) < 0 ? -1 : 0;
}

int testdir_remove(const char *path)
{
    if (getenv("CHALK_KEEP_TESTDIR")) {
        fprintf(stderr, "testdir: kept %s\n", path);
        return 0;
    }
    return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0 ? -errno : 0;
}

/* Call fn(arg, dir, name) for each regular file of dir. */
static int each_file(const char *dir, int (*fn)(void *, const char *, const char *), void *arg)
{
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        char p[4096];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
            rc = fn(arg, dir, e->d_name);
    }
    closedir(d);
    return rc;
}

static int unlink_one(void *arg, const char *dir, const char *name)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return unlink(p) < 0 ? -errno : 0;
}

int testdir_clear(const char *path) { return each_file(path, unlink_one, NULL); }

static int copy_one(void *arg, const char *dir, const char *name)
{
    char from[4096], to[4096], buf[65536];
    snprintf(from, sizeof from, "%s/%s", dir, name);
    snprintf(to, sizeof to, "%s/%s", (const char *)arg, name);
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return -errno;
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = out < 0 ? -errno : 0;
    ssize_t r;
    while (rc == 0 && (r = read(in, buf, sizeof buf)) != 0) {
        if (r < 0 || write(out, buf, (size_t)r) != r)  /* local file: no short writes */
            rc = -EIO;
    }
    close(in);
    if (out >= 0)
        close(out);
    return rc;
}

int testdir_copy(const char *src, const char *dst) { return each_file(src, copy_one, (void *)dst); }

int64_t testdir_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) < 0 ? -errno : (int64_t)st.st_size;
}

int64_t testdir_nonzero_size(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -errno;
    int64_t end = 0, off = 0;
    int c;
    while ((c = fgetc(f)) != EOF) {
        off++;
        if (c) end = off;
    }
    fclose(f);
    return end;
}

int testdir_truncate(const char *path, uint64_t len)
{
    return truncate(path, (off_t)len) < 0 ? -errno : 0;
}

int testdir_xor_byte(const char *path, uint64_t off, unsigned char mask)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    unsigned char b;
    int rc = 0;
    if (pread(fd, &b, 1, (off_t)off) != 1)
        rc = -EIO;
    b ^= mask;
    if (rc == 0 && pwrite(fd, &b, 1, (off_t)off) != 1)
        rc = -EIO;
    close(fd);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int testdir_list(const char *dir, const char *suffix, char ***names, size_t *count)
{
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    char **v = NULL;
    size_t n = 0, sl = strlen(suffix);
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < sl || strcmp(e->d_name + l - sl, suffix) != 0 || e->d_name[0] == '.')
            continue;
        char **nv = realloc(v, (n + 1) * sizeof *v);
        if (!nv || !(nv[n] = strdup(e->d_name))) {
            v = nv ? nv : v;
            closedir(d);
            testdir_free_list(v, n);
            return -ENOMEM;
        }
        v = nv;
        n++;
    }
    closedir(d);
    if (n)
        qsort(v, n, sizeof *v, cmp_str);
    *names = v;
    *count = n;
    return 0;
}

void testdir_free_list(char **names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}
