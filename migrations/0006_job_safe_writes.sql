-- Background jobs and /forget_me take turns, and models live in the database.
--
-- member_write_lock_key(): the advisory lock a background job's write holds shared and
-- /forget_me holds exclusively, so a forget never interleaves with a job's write (a job
-- that read a member before the forget finds the member gone when it writes, and skips them).
CREATE OR REPLACE FUNCTION member_write_lock_key() RETURNS bigint LANGUAGE sql IMMUTABLE AS
$$ SELECT 4849127736129077061::bigint $$;  -- "CINESYNC"-ish, fixed for every process

-- The checkpoint itself, so every process on this database (on any machine, whatever its
-- CINESYNC_HOME) serves the same model; checkpoint_path stays as the file's name for operators.
ALTER TABLE model_registry ADD COLUMN checkpoint bytea;
