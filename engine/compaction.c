/* compaction.c — placeholder while the merge is written (next commit). */
#include "db.h"

void compaction_poll(chalk_db *db) { (void)db; }
void compaction_shutdown(chalk_db *db) { (void)db; }
void db_unlink_doomed(chalk_db *db) { (void)db; }
int chalk_compact(chalk_db *db) { (void)db; return CHALK_EBUSY; }
int chalk_compact_wait(chalk_db *db) { (void)db; return 0; }
