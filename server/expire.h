/*
 * expire.h — removing keys whose time has passed: lazily when a command
 * meets one, actively in a bounded cycle every server tick (expire.c).
 *
 * The design (the one idea, what is left out and what it costs, the
 * interview topics) is at the top of expire.c.
 */
#ifndef CHALK_EXPIRE_H
#define CHALK_EXPIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Lazy expiry: a lookup of engine key ek missed; if the engine still holds
 * it (expired, hence invisible), delete it now and count it in INFO stats
 * expired_keys. Does nothing where expiry must not delete (a replica). */
void expire_if_needed(const void *ek, size_t eklen);

/* Active expiry: one bounded cycle (Redis's sampling). Call once per
 * server tick with the current time; it spends at most a quarter of the
 * tick. Returns the number of keys deleted. */
long expire_cycle(int64_t now_ms);

/* Whether this server may delete expired keys on its own clock: true for
 * a primary, false for a replica (which waits for its primary's DELs). */
bool expire_may_delete(void);

/* The absolute unix time in ms of `amount` units of unit_ms (1 = ms, 1000
 * = seconds) after base_ms (0 for an absolute time, now for a relative
 * one). Returns false when the result does not fit in 64 bits: the caller
 * replies "invalid expire time in '<cmd>' command". Never overflows. */
bool expire_deadline(long long amount, long long unit_ms, int64_t base_ms, int64_t *out);

#endif /* CHALK_EXPIRE_H */
