/*
 * fault_vfs.c — the crash model behind the engine's durability tests.
 *
 * What it is: a struct chalk_vfs that forwards every call to the real
 * syscall and, beside it, keeps a model of what the DISK holds, as opposed
 * to what the page cache shows. The one idea: a byte or a name is durable
 * only once the matching sync said so, and a crash may keep anything
 * between "only the durable state" and "everything written".
 *
 * The model, per file (an "inode": it keeps its identity across renames):
 *   1. durable bytes — the content as of the last successful fdatasync;
 *   2. pending ops   — every pwrite/ftruncate since then, in order.
 *   A successful fdatasync folds the pending ops into the durable bytes.
 * and per directory:
 *   3. durable names — name → inode as of the last fsync of the directory.
 *   A create, rename or unlink changes only the real (cached) directory
 *   until fsync_dir; fdatasync of a file does NOT make its name durable.
 * Files the layer has never seen are adopted on first touch: their content
 * and name at that moment count as durable (they came from an earlier life).
 *
 * A crash (fault_vfs_apply_crash) rebuilds every directory it knows from
 * its durable names; each file gets its durable bytes plus, depending on the
 * mode, nothing / a random prefix of its pending ops cut inside a write /
 * that prefix followed by random bytes or zeros. Unlinked files whose
 * unlink was never made durable come back with their old content; created
 * or renamed names that were never made durable disappear.
 *
 * fsyncgate: when an fdatasync fails, Linux marks the dirty pages clean and
 * reports the error once; a later fdatasync then returns 0 although the data
 * never reached the disk (PostgreSQL lost data this way in 2018). The model
 * copies that: a failed fdatasync DROPS the file's pending ops — they stay
 * visible to reads, as in the page cache, but no later sync saves them. An
 * engine that retries the fsync and then acknowledges is caught by it.
 *
 * @interview(tx.durability): What does fsync actually promise, and what not?
 * fdatasync promises that the file's written bytes (and its size) are on
 * stable storage when it returns 0 — nothing about the file's NAME, which
 * needs an fsync of the directory, and nothing after it returned an error:
 * the kernel may already have dropped the dirty pages, so retrying until it
 * succeeds acknowledges lost data. This layer models exactly those three
 * rules, and the crash tests check the engine against them.
 *
 * Left out on purpose, and what it costs:
 *   - Out-of-order writeback is modelled per 4 KiB page of each write
 *     (FAULT_CRASH_REORDER), not per disk sector, and a truncation is
 *     always kept in that mode; the other modes keep writes in order.
 *   - Files are modelled whole in memory (copies of durable bytes and of
 *     every pending write): fine for test-sized segments, not for 64 MiB.
 *   - One name per inode (no hard links); a rename across directories is
 *     tracked but both directories must be synced to be sure of it.
 *   - Reads and mmap bypass the layer (engine/vfs.h): between the crash and
 *     fault_vfs_apply_crash() the engine must be closed, never read from.
 *   - A single fault rule at a time, and a single crash point.
 */
#include "fault_vfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { PEND_WRITE, PEND_TRUNC };

struct fv_pend {               /* one unsynced change of a file */
    int            kind;       /* PEND_WRITE or PEND_TRUNC */
    uint64_t       off;        /* write offset, or the new length */
    size_t         len;        /* bytes in data (writes only) */
    unsigned char *data;
};

struct fv_inode {
    unsigned char   *durable;      /* bytes an fdatasync made durable */
    size_t           durable_len;
    struct fv_pend  *pend;         /* ops since the last fdatasync, in order */
    size_t           npend, pend_cap;
    char            *path;         /* current name (normalized); NULL once unlinked */
    struct fv_inode *next;         /* list of every inode */
};

struct fv_name {               /* a durable directory entry */
    char            *path;     /* normalized full path */
    struct fv_inode *ino;
    struct fv_name  *next;
};

struct fv_fd {
    int              used;     /* opened through the layer, not closed */
    struct fv_inode *ino;      /* NULL for a directory or special file */
};

struct fault_vfs {
    struct chalk_vfs vfs;          /* handed to the engine; ctx = this */
    pthread_mutex_t  mu;           /* the engine may call from 2 threads */
    uint64_t         rng;          /* splitmix64 state */
    struct fv_inode *inodes;
    struct fv_name  *names;        /* durable directory entries */
    struct fv_fd    *fds;          /* indexed by fd */
    size_t           nfds;
    uint64_t         ops, injected;
    uint64_t         ops_by_kind[8];
    unsigned         fail_kinds;   /* 0 = no rule */
    uint64_t         fail_countdown;
    int              fail_err, fail_forever, fail_firing;
    uint64_t         crash_at;     /* 0 = never */
    int              crashed;
    unsigned         short_pct;    /* percent of pwrites cut short */
    size_t           short_min;    /* ... among those of at least this size */
    FILE            *trace;
};

/* ---- small utilities -------------------------------------------------- */

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* realpath(dirname(p)) + "/" + basename(p): one spelling per file, so that
 * "dir/x" and "./dir/x" are the same inode and fsync_dir(dir) finds it. */
static char *norm_path(const char *p)
{
    const char *slash = strrchr(p, '/');
    const char *base = slash ? slash + 1 : p;
    char dir[PATH_MAX], real[PATH_MAX];
    if (!slash)
        strcpy(dir, ".");
    else if (slash == p)
        strcpy(dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - p), p);
    if (!realpath(dir, real))
        snprintf(real, sizeof real, "%s", dir);
    size_t n = strlen(real) + strlen(base) + 2;
    char *out = malloc(n);
    if (out)
        snprintf(out, n, "%s/%s", strcmp(real, "/") ? real : "", base);
    return out;
}

/* Does normalized `path` sit directly in normalized directory `dir`? */
static int in_dir(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return strncmp(path, dir, n) == 0 && path[n] == '/' && !strchr(path + n + 1, '/');
}

static int read_whole(const char *path, unsigned char **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        close(fd);
        return -errno;
    }
    unsigned char *buf = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (buf && got < (size_t)st.st_size) {   /* short reads are normal */
        ssize_t r = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (!buf)
        return -ENOMEM;
    *out = buf;
    *len = got;
    return 0;
}

static int write_whole(const char *path, const unsigned char *buf, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    size_t done = 0;
    while (done < len) {                        /* short writes are normal */
        ssize_t w = pwrite(fd, buf + done, len - done, (off_t)done);
        if (w < 0) {
            int e = -errno;
            close(fd);
            return e;
        }
        done += (size_t)w;
    }
    return close(fd) < 0 ? -errno : 0;
}

/* ---- inodes and names ------------------------------------------------- */

static struct fv_inode *find_inode(struct fault_vfs *fv, const char *npath)
{
    for (struct fv_inode *i = fv->inodes; i; i = i->next)
        if (i->path && strcmp(i->path, npath) == 0)
            return i;
    return NULL;
}

static struct fv_inode *new_inode(struct fault_vfs *fv, const char *npath)
{
    struct fv_inode *i = calloc(1, sizeof *i);
    if (!i || !(i->path = strdup(npath))) {
        free(i);
        return NULL;
    }
    i->next = fv->inodes;
    fv->inodes = i;
    return i;
}

static int add_name(struct fault_vfs *fv, const char *npath, struct fv_inode *ino)
{
    struct fv_name *n = calloc(1, sizeof *n);
    if (!n || !(n->path = strdup(npath))) {
        free(n);
        return -ENOMEM;
    }
    n->ino = ino;
    n->next = fv->names;
    fv->names = n;
    return 0;
}

/* The inode currently named npath; a regular file the layer has not seen
 * yet is adopted: its bytes and its name count as durable. NULL if there
 * is no such regular file (or on ENOMEM, which tests treat alike). */
static struct fv_inode *adopt(struct fault_vfs *fv, const char *npath)
{
    struct fv_inode *i = find_inode(fv, npath);
    struct stat st;
    if (i || stat(npath, &st) < 0 || !S_ISREG(st.st_mode))
        return i;
    i = new_inode(fv, npath);
    if (!i)
        return NULL;
    if (read_whole(npath, &i->durable, &i->durable_len) < 0)
        i->durable_len = 0;
    add_name(fv, npath, i);
    return i;
}

static void free_pending(struct fv_inode *i)
{
    for (size_t k = 0; k < i->npend; k++)
        free(i->pend[k].data);
    i->npend = 0;
}

static int push_pending(struct fv_inode *i, int kind, uint64_t off,
                        const void *data, size_t len)
{
    if (i->npend == i->pend_cap) {
        size_t cap = i->pend_cap ? i->pend_cap * 2 : 8;
        struct fv_pend *p = realloc(i->pend, cap * sizeof *p);
        if (!p)
            return -ENOMEM;
        i->pend = p;
        i->pend_cap = cap;
    }
    struct fv_pend *p = &i->pend[i->npend];
    p->kind = kind;
    p->off = off;
    p->len = len;
    p->data = NULL;
    if (len) {
        if (!(p->data = malloc(len)))
            return -ENOMEM;
        memcpy(p->data, data, len);
    }
    i->npend++;
    return 0;
}

/* Set *buf's length to `len`, zero-filling any growth. */
static int buf_resize(unsigned char **buf, size_t *cur, size_t len)
{
    if (len > *cur) {
        unsigned char *b = realloc(*buf, len);
        if (!b)
            return -ENOMEM;
        memset(b + *cur, 0, len - *cur);
        *buf = b;
    }
    *cur = len;
    return 0;
}

/* Apply the first n bytes of pending op p to (*buf, *len). */
static int apply_op(unsigned char **buf, size_t *len, const struct fv_pend *p, size_t n)
{
    if (p->kind == PEND_TRUNC)
        return buf_resize(buf, len, (size_t)p->off);
    size_t end = (size_t)p->off + n;
    if (end > *len && buf_resize(buf, len, end) < 0)
        return -ENOMEM;
    if (n)
        memcpy(*buf + p->off, p->data, n);
    return 0;
}

/* fdatasync succeeded: the pending ops are now on the disk. */
static int make_durable(struct fv_inode *i)
{
    for (size_t k = 0; k < i->npend; k++)
        if (apply_op(&i->durable, &i->durable_len, &i->pend[k], i->pend[k].len) < 0)
            return -ENOMEM;
    free_pending(i);
    return 0;
}

/* fsync_dir succeeded: the durable names of `ndir` become its current ones. */
static int sync_names(struct fault_vfs *fv, const char *ndir)
{
    struct fv_name **pp = &fv->names;
    while (*pp) {
        struct fv_name *n = *pp;
        if (in_dir(n->path, ndir)) {
            *pp = n->next;
            free(n->path);
            free(n);
        } else {
            pp = &n->next;
        }
    }
    for (struct fv_inode *i = fv->inodes; i; i = i->next)
        if (i->path && in_dir(i->path, ndir) && add_name(fv, i->path, i) < 0)
            return -ENOMEM;
    return 0;
}

/* ---- the gate every operation passes ---------------------------------- */

static int kind_index(unsigned kind)
{
    int k = 0;
    while (kind > 1) {
        kind >>= 1;
        k++;
    }
    return k;
}

/* Count one operation and decide its fate: 0 = perform it, else -errno.
 * *at_crash is set when this very op is the crash point. Lock held. */
static int gate(struct fault_vfs *fv, unsigned kind, int *at_crash)
{
    fv->ops++;
    fv->ops_by_kind[kind_index(kind)]++;
    if (!fv->crashed && fv->crash_at && fv->ops >= fv->crash_at) {
        fv->crashed = 1;
        *at_crash = 1;
    }
    if (fv->crashed) {
        fv->injected++;
        return -EIO;
    }
    if (!(fv->fail_kinds & kind))
        return 0;
    if (fv->fail_firing || --fv->fail_countdown == 0) {
        int err = fv->fail_err;
        if (fv->fail_forever)
            fv->fail_firing = 1;
        else
            fv->fail_kinds = 0;
        fv->injected++;
        return -err;
    }
    return 0;
}

static void trace(struct fault_vfs *fv, const char *op, const char *what, long long arg, long long ret)
{
    if (fv->trace)
        fprintf(fv->trace, "fault_vfs #%llu %-9s %s %lld -> %lld%s\n",
                (unsigned long long)fv->ops, op, what ? what : "?", arg, ret,
                fv->crashed ? " (crashed)" : "");
}

static struct fv_fd *fd_slot(struct fault_vfs *fv, int fd, int grow)
{
    if (fd < 0)
        return NULL;
    if ((size_t)fd >= fv->nfds) {
        if (!grow)
            return NULL;
        size_t n = (size_t)fd + 64;
        struct fv_fd *f = realloc(fv->fds, n * sizeof *f);
        if (!f)
            return NULL;
        memset(f + fv->nfds, 0, (n - fv->nfds) * sizeof *f);
        fv->fds = f;
        fv->nfds = n;
    }
    return &fv->fds[fd];
}

static struct fv_inode *fd_inode(struct fault_vfs *fv, int fd)
{
    struct fv_fd *s = fd_slot(fv, fd, 0);
    return s && s->used ? s->ino : NULL;
}

/* ---- the struct chalk_vfs operations ---------------------------------- */

static int fv_open(void *ctx, const char *path, int flags, int mode)
{
    struct fault_vfs *fv = ctx;
    int at_crash = 0, ret;
    pthread_mutex_lock(&fv->mu);
    char *np = norm_path(path);
    if ((ret = gate(fv, FAULT_OP_OPEN, &at_crash)) == 0 && !np)
        ret = -ENOMEM;
    struct fv_inode *ino = ret == 0 ? adopt(fv, np) : NULL;
    if (ret == 0 && (ret = open(path, flags | O_CLOEXEC, mode)) < 0)
        ret = -errno;
    if (ret >= 0) {
        struct stat st;
        if (!ino && fstat(ret, &st) == 0 && S_ISREG(st.st_mode))
            ino = new_inode(fv, np);            /* created just now */
        else if (ino && (flags & O_TRUNC))
            push_pending(ino, PEND_TRUNC, 0, NULL, 0);
        struct fv_fd *s = fd_slot(fv, ret, 1);
        if (s) {
            s->used = 1;
            s->ino = ino;
        }
    }
    trace(fv, "open", path, flags, ret);
    free(np);
    pthread_mutex_unlock(&fv->mu);
    return ret;
}

static ssize_t fv_pwrite(void *ctx, int fd, const void *buf, size_t n, uint64_t off)
{
    struct fault_vfs *fv = ctx;
    int at_crash = 0;
    pthread_mutex_lock(&fv->mu);
    ssize_t ret = gate(fv, FAULT_OP_WRITE, &at_crash);
    if (ret == 0 || at_crash) {
        /* At the crash op the write reaches the page cache but the process
         * dies before learning it: a crash mode may tear it. */
        if (fv->short_pct && n > 1 && n >= fv->short_min &&
            splitmix64(&fv->rng) % 100 < fv->short_pct)
            n = 1 + (size_t)(splitmix64(&fv->rng) % (n - 1));
        ssize_t w = pwrite(fd, buf, n, (off_t)off);
        struct fv_inode *ino = fd_inode(fv, fd);
        if (w > 0 && ino)
            push_pending(ino, PEND_WRITE, off, buf, (size_t)w);
        if (!at_crash)
            ret = w < 0 ? -errno : w;
    }
    trace(fv, "pwrite", fd_inode(fv, fd) ? fd_inode(fv, fd)->path : NULL, (long long)n, ret);
    pthread_mutex_unlock(&fv->mu);
    return ret;
}

static int fv_fdatasync(void *ctx, int fd)
{
    struct fault_vfs *fv = ctx;
    int at_crash = 0;
    pthread_mutex_lock(&fv->mu);
    struct fv_inode *ino = fd_inode(fv, fd);
    int ret = gate(fv, FAULT_OP_SYNC, &at_crash);
    if (ret == 0 && fdatasync(fd) < 0)
        ret = -errno;
    if (ret == 0 && ino)
        ret = make_durable(ino);
    else if (ret < 0 && !fv->crashed && ino)
        free_pending(ino);                      /* fsyncgate: see the top */
    trace(fv, "fdatasync", ino ? ino->path : NULL, fd, ret);
    pthread_mutex_unlock(&fv->mu);
    return ret;
}

static int fv_ftruncate(void *ctx, int fd, uint64_t len)
{
    struct fault_vfs *fv = ctx;
    int at_crash = 0;
    pthread_mutex_lock(&fv->mu);
    struct fv_inode *ino = fd_inode(fv, fd);
    int ret = gate(fv, FAULT_OP_TRUNCATE, &at_crash);
    if (ret == 0 && ftruncate(fd, (off_t)len) < 0)
        ret = -errno;
    if (ret == 0 && ino)
        ret = push_pending(ino, PEND_TRUNC, len, NULL, 0);
    trace(fv, "ftruncate", ino ? ino->path : NULL, (long long)len, ret);
    pthread_mutex_unlock(&fv->mu);
    return ret;
}

static int fv_rename(void *ctx, const char *from, const char *to)
{
    struct fault_vfs *fv = ctx;
    int at_crash = 0;
    pthread_mutex_lock(&fv->mu);
    char *nf = norm_path(from), *nt = norm_path(to);
    int ret = gate(fv, FAULT_OP_RENAME, &at_crash);
    if (ret == 0 && (!nf || !nt))
        ret = -ENOMEM;
    if (ret == 0) {
        struct fv_inode *src = adopt(fv, nf), *dst = adopt(fv, nt);
        if (rename(from, to) < 0) {
            ret = -errno;
        } else if (src) {
            if (dst && dst != src) {
                free(dst->path);        /* replaced: only a durable name may */
                dst->path = NULL;       /* still point at it */
            }
            free(src->path);
            src->path = nt;
            nt = NULL;
        }
    }
    trace(fv, "rename", to, 0, ret);
    free(nf);
    free(nt);
    pthread_mutex_unlock(&fv->mu);
    return ret;
}

static int fv_unlink(void *ctx, const char *path)
{
    struct fault_vfs *fv = ctx;
    int at_crash = 0;
    pthread_mutex_lock(&fv->mu);
    char *np = norm_path(path);
    int ret = gate(fv, FAULT_OP_UNLINK, &at_crash);
    if (ret == 0 && !np)
        ret = -ENOMEM;
    if (ret == 0) {
        struct fv_inode *ino = adopt(fv, np);   /* keeps a copy of its bytes */
        if (unlink(path) < 0) {
            ret = -errno;
        } else if (ino) {
            free(ino->path);
            ino->path = NULL;
        }
    }
    trace(fv, "unlink", path, 0, ret);
    free(np);
    pthread_mutex_unlock(&fv->mu);
    return ret;
}

static int fv_fsync_dir(void *ctx, const char *dir)
{
    struct fault_vfs *fv = ctx;
    int at_crash = 0;
    char real[PATH_MAX];
    pthread_mutex_lock(&fv->mu);
    int ret = gate(fv, FAULT_OP_SYNC_DIR, &at_crash);
    if (ret == 0) {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || fsync(dfd) < 0)
            ret = -errno;
        if (dfd >= 0)
            close(dfd);
    }
    if (ret == 0)
        ret = realpath(dir, real) ? sync_names(fv, real) : -errno;
    trace(fv, "fsync_dir", dir, 0, ret);
    pthread_mutex_unlock(&fv->mu);
    return ret;
}

static int fv_close(void *ctx, int fd)
{
    struct fault_vfs *fv = ctx;
    int at_crash = 0;
    pthread_mutex_lock(&fv->mu);
    int ret = gate(fv, FAULT_OP_CLOSE, &at_crash);
    struct fv_fd *s = fd_slot(fv, fd, 0);
    if (s && s->used) {
        s->used = 0;
        s->ino = NULL;
    }
    /* The fd is released whatever the verdict: a dead process holds none. */
    if (close(fd) < 0 && ret == 0)
        ret = -errno;
    if (fv->crashed)
        ret = 0;
    trace(fv, "close", NULL, fd, ret);
    pthread_mutex_unlock(&fv->mu);
    return ret;
}

/* ---- public control functions ----------------------------------------- */

struct fault_vfs *fault_vfs_new(uint64_t seed)
{
    struct fault_vfs *fv = calloc(1, sizeof *fv);
    if (!fv)
        return NULL;
    pthread_mutex_init(&fv->mu, NULL);
    fv->rng = seed;
    fv->vfs = (struct chalk_vfs){
        .ctx = fv, .open = fv_open, .pwrite = fv_pwrite,
        .fdatasync = fv_fdatasync, .ftruncate = fv_ftruncate,
        .rename = fv_rename, .unlink = fv_unlink,
        .fsync_dir = fv_fsync_dir, .close = fv_close,
    };
    return fv;
}

/* Forget every inode, name and fd; counters and rules back to zero. */
static void forget_all(struct fault_vfs *fv)
{
    while (fv->inodes) {
        struct fv_inode *i = fv->inodes;
        fv->inodes = i->next;
        free_pending(i);
        free(i->pend);
        free(i->durable);
        free(i->path);
        free(i);
    }
    while (fv->names) {
        struct fv_name *n = fv->names;
        fv->names = n->next;
        free(n->path);
        free(n);
    }
    free(fv->fds);
    fv->fds = NULL;
    fv->nfds = 0;
    fv->ops = fv->injected = 0;
    memset(fv->ops_by_kind, 0, sizeof fv->ops_by_kind);
    fv->fail_kinds = 0;
    fv->fail_firing = 0;
    fv->crash_at = 0;
    fv->crashed = 0;
}

void fault_vfs_free(struct fault_vfs *fv)
{
    if (!fv)
        return;
    forget_all(fv);
    pthread_mutex_destroy(&fv->mu);
    free(fv);
}

const struct chalk_vfs *fault_vfs_get(struct fault_vfs *fv) { return &fv->vfs; }

void fault_vfs_fail_nth(struct fault_vfs *fv, unsigned kinds, uint64_t nth,
                        int err, int forever)
{
    pthread_mutex_lock(&fv->mu);
    fv->fail_kinds = nth ? kinds : 0;
    fv->fail_countdown = nth;
    fv->fail_err = err;
    fv->fail_forever = forever;
    fv->fail_firing = 0;
    pthread_mutex_unlock(&fv->mu);
}

void fault_vfs_clear_faults(struct fault_vfs *fv) { fault_vfs_fail_nth(fv, 0, 0, 0, 0); }

void fault_vfs_short_writes(struct fault_vfs *fv, unsigned percent, size_t min_len)
{
    pthread_mutex_lock(&fv->mu);
    fv->short_pct = percent > 100 ? 100 : percent;
    fv->short_min = min_len;
    pthread_mutex_unlock(&fv->mu);
}

void fault_vfs_crash_at(struct fault_vfs *fv, uint64_t op)
{
    pthread_mutex_lock(&fv->mu);
    fv->crash_at = op;
    pthread_mutex_unlock(&fv->mu);
}

void fault_vfs_crash_now(struct fault_vfs *fv)
{
    pthread_mutex_lock(&fv->mu);
    fv->crash_at = fv->ops + 1;
    pthread_mutex_unlock(&fv->mu);
}

int fault_vfs_crashed(const struct fault_vfs *fv) { return fv->crashed; }
uint64_t fault_vfs_ops(const struct fault_vfs *fv) { return fv->ops; }
uint64_t fault_vfs_injected(const struct fault_vfs *fv) { return fv->injected; }

uint64_t fault_vfs_ops_of(const struct fault_vfs *fv, unsigned kinds)
{
    uint64_t n = 0;
    for (int k = 0; k < 8; k++)
        if (kinds & (1u << k))
            n += fv->ops_by_kind[k];
    return n;
}

void fault_vfs_trace(struct fault_vfs *fv, FILE *out) { fv->trace = out; }

uint64_t fault_vfs_rand(struct fault_vfs *fv)
{
    pthread_mutex_lock(&fv->mu);
    uint64_t r = splitmix64(&fv->rng);
    pthread_mutex_unlock(&fv->mu);
    return r;
}

void fault_vfs_reset(struct fault_vfs *fv)
{
    pthread_mutex_lock(&fv->mu);
    forget_all(fv);
    pthread_mutex_unlock(&fv->mu);
}

/* ---- the crash itself ------------------------------------------------- */

/* FAULT_CRASH_REORDER: the page cache wrote some dirty pages back and not
 * others. Each 4 KiB page of each pending write survives with odds 1/2. */
static int keep_random_pages(struct fault_vfs *fv, struct fv_inode *i,
                             unsigned char **b, size_t *n)
{
    for (size_t j = 0; j < i->npend; j++) {
        const struct fv_pend *p = &i->pend[j];
        if (p->kind == PEND_TRUNC) {
            if (apply_op(b, n, p, 0) < 0)
                return -ENOMEM;
            continue;
        }
        for (size_t at = 0; at < p->len;) {
            size_t page_end = (size_t)((p->off + at) / 4096 + 1) * 4096 - (size_t)p->off;
            size_t piece = (page_end < p->len ? page_end : p->len) - at;
            if (splitmix64(&fv->rng) & 1) {
                struct fv_pend part = { PEND_WRITE, p->off + at, piece, p->data + at };
                if (apply_op(b, n, &part, piece) < 0)
                    return -ENOMEM;
            }
            at += piece;
        }
    }
    return 0;
}

/* The bytes file i holds after the crash, per mode: durable bytes, then
 * the first k pending ops whole, then (maybe) a prefix of op k, then (maybe)
 * garbage where the rest of op k would have been. */
static int post_crash_bytes(struct fault_vfs *fv, struct fv_inode *i,
                            enum fault_crash_mode mode, unsigned char **out, size_t *len)
{
    size_t n = i->durable_len;
    unsigned char *b = malloc(n ? n : 1);
    if (!b)
        return -ENOMEM;
    if (n)
        memcpy(b, i->durable, n);
    if (mode == FAULT_CRASH_RANDOM)
        mode = (enum fault_crash_mode)(splitmix64(&fv->rng) % 4);
    if (mode == FAULT_CRASH_REORDER) {
        int rc = keep_random_pages(fv, i, &b, &n);
        if (rc < 0) {
            free(b);
            return rc;
        }
        *out = b;
        *len = n;
        return 0;
    }
    size_t k = mode == FAULT_CRASH_DROP_UNSYNCED ? 0 : splitmix64(&fv->rng) % (i->npend + 1);
    int rc = 0;
    for (size_t j = 0; j < k && rc == 0; j++)
        rc = apply_op(&b, &n, &i->pend[j], i->pend[j].len);
    if (rc == 0 && k < i->npend && mode != FAULT_CRASH_DROP_UNSYNCED &&
        i->pend[k].kind == PEND_WRITE && i->pend[k].len > 0) {
        const struct fv_pend *p = &i->pend[k];
        size_t cut = splitmix64(&fv->rng) % p->len;   /* keep [0, cut) */
        rc = apply_op(&b, &n, p, cut);
        if (rc == 0 && mode == FAULT_CRASH_PREFIX_GARBAGE) {
            size_t g = 1 + splitmix64(&fv->rng) % (p->len - cut);
            int zeros = splitmix64(&fv->rng) & 1;
            size_t end = (size_t)p->off + cut + g;
            rc = end > n ? buf_resize(&b, &n, end) : 0;
            for (size_t x = 0; rc == 0 && x < g; x++)
                b[p->off + cut + x] = zeros ? 0 : (unsigned char)splitmix64(&fv->rng);
        }
    }
    if (rc < 0) {
        free(b);
        return rc;
    }
    *out = b;
    *len = n;
    return 0;
}

int fault_vfs_apply_crash(struct fault_vfs *fv, enum fault_crash_mode mode)
{
    int rc = 0;
    pthread_mutex_lock(&fv->mu);
    for (size_t fd = 0; fd < fv->nfds; fd++)    /* the process is dead */
        if (fv->fds[fd].used)
            close((int)fd);
    /* 1. Every current name of a file we track goes: the cache is lost. */
    for (struct fv_inode *i = fv->inodes; i; i = i->next)
        if (i->path && unlink(i->path) < 0 && errno != ENOENT)
            rc = -errno;
    /* 2. Every durable name comes back with its file's post-crash bytes. */
    for (struct fv_name *nm = fv->names; nm && rc == 0; nm = nm->next) {
        unsigned char *b;
        size_t len;
        if ((rc = post_crash_bytes(fv, nm->ino, mode, &b, &len)) == 0) {
            rc = write_whole(nm->path, b, len);
            free(b);
        }
    }
    forget_all(fv);
    pthread_mutex_unlock(&fv->mu);
    return rc;
}
