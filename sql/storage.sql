-- The database's own costs, measured by `cinesync bench`.

-- name: write_probe_record()$
-- Inside a transaction: one small WAL record (a logical message no table keeps), so the COMMIT writes a
-- commit record and waits for the WAL to reach the disk, as a rating's does. (An id alone is not
-- enough: a transaction that wrote no WAL before its commit record commits without waiting.)
SELECT pg_logical_emit_message(true, 'cinesync', 'storage probe');

-- name: synchronous_commit()$
-- 'on' unless an operator traded the last moments of acknowledged writes for speed.
SELECT current_setting('synchronous_commit');
