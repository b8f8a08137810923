/*
 * txn.h — the engine's atomic group (chalk_group_begin / chalk_group_end),
 * the state write.c consults while one is open. Internal; the public side
 * is in include/chalk/engine.h and the code in txn.c.
 *
 * An open group changes three things in chalk_write (write.c):
 *   1. every record gets the group's seq (reserved by chalk_group_begin),
 *      not a fresh one per batch;
 *   2. no record gets the COMMIT flag: chalk_group_end sets it on the
 *      group's last record, so the group is ONE batch in the log's framing
 *      (record.c) and recovery applies all of it or none of it;
 *   3. the active segment does not roll once the group holds records (a
 *      batch never spans two segments): it may grow past segment_size by
 *      the group's size.
 * And one thing in log_flush (log.c): pending bytes are held in memory
 * (log.hold) until the group ends, so an unfinished group never reaches the
 * disk, where the batch that follows it would look like a torn tail.
 */
#ifndef CHALK_TXN_H
#define CHALK_TXN_H

#include <stdint.h>

struct db_group {
    int      open;          /* between chalk_group_begin and chalk_group_end */
    uint64_t seq;           /* the one seq every record of the group carries */
    uint64_t last_off;      /* file offset of the newest batch written in it */
    uint64_t last_bytes;    /* that batch's size; 0 = the group is empty */
};

#endif /* CHALK_TXN_H */
