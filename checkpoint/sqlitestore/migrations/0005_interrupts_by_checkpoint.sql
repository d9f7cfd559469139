-- weft schema for SQLite, version 5: the questions of one checkpoint of a
-- thread, found without reading the thread's others.
--
-- Every Resume and State reads the questions asked at the thread's head
-- checkpoint (thread_id and checkpoint_id). With only the primary key
-- (thread_id, id), that read visited every question the thread was ever
-- asked: a 500-turn chat read 500 rows per turn by its end. This index
-- makes it a range of the head's few.
CREATE INDEX IF NOT EXISTS interrupts_checkpoint ON interrupts (thread_id, checkpoint_id);
