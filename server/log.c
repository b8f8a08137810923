/*
 * log.c — log lines in redis-server's format, so that people (and tools)
 * that read Redis logs read ours:
 *
 *   12345:M 29 Nov 2026 02:40:00.123 * Ready to accept connections tcp
 *   │     │ │                        │
 *   pid   role (M = primary)         level: . debug  - verbose  * notice  # warning
 *
 * Lines go to stdout, or appended to `logfile` (opened per line, so a log
 * rotated by moving the file is picked up, as Redis does). Left out:
 * syslog. The cost is none for the tests and a missing integration for
 * production.
 *
 * The one idea: a log format is an interface. Matching redis-server's lets
 * the habits and tools of people who run Redis work unchanged.
 *
 * Interview topics: none tagged here; obs.tracing (SLOWLOG, LATENCY) is in
 * cmd_admin.c, this file only writes the lines.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "server.h"

int64_t now_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

int64_t now_ms(void) { return now_us() / 1000; }

static void log_raw(int level, const char *msg)
{
    static const char marks[] = ".-*#";
    FILE *fp = stdout;
    const char *file = server.cfg.logfile;
    if (file && file[0]) {
        fp = fopen(file, "a");
        if (!fp)
            return;
    }
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    char when[64];
    size_t off = strftime(when, sizeof when, "%d %b %Y %H:%M:%S.", &tm);
    snprintf(when + off, sizeof when - off, "%03d", (int)(tv.tv_usec / 1000));
    fprintf(fp, "%d:M %s %c %s\n", (int)getpid(), when, marks[level & 3], msg);
    fflush(fp);
    if (fp != stdout)
        fclose(fp);
}

void server_log(int level, const char *fmt, ...)
{
    if (level < server.cfg.loglevel)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log_raw(level, msg);
}

/* The engine's log callback (chalk_options.log): its levels mapped onto
 * ours, so `loglevel` filters both. The engine's INFO lines (recovery and
 * compaction summaries) are worth seeing by default: notice. */
void server_log_engine(void *arg, enum chalk_log_level level, const char *msg)
{
    int l = level == CHALK_LOG_DEBUG ? LL_DEBUG
          : level == CHALK_LOG_INFO  ? LL_NOTICE : LL_WARNING;
    server_log(l, "engine: %s", msg);
}
