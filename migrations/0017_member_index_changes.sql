-- Which transaction last wrote each similar-member index row, so every bot process can mirror the
-- index in memory (bot/services/member_search.py) by reading only what changed since its last look.
--
-- Why a transaction id, not a timestamp or a sequence: both are taken before commit, so a reader can
-- see a later value committed before an earlier one and step past the earlier for ever. A reader
-- instead keeps the oldest transaction still running when it last read (pg_snapshot_xmin) and next
-- reads every row written at or after it: whatever commits later has an id at least that large.
-- Rows already there keep NULL (a process reads them in its first, whole load); added without a
-- default and given one after, so a 330,000-member table and its HNSW index are not rewritten.
ALTER TABLE member_index ADD COLUMN changed xid8;
ALTER TABLE member_index ALTER COLUMN changed SET DEFAULT pg_current_xact_id();
CREATE INDEX member_index_changed ON member_index (changed);
