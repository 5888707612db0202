-- Every key of a member table carries the member (issue 15: the schema made Citus-compatible).
--
-- Why: Citus distributes a table by one column and enforces a primary key or unique constraint
-- only when it includes that column. The member tables are distributed by user_id
-- (bot/db/distribution.py); these five had keys of their own serial or Discord id alone. Each
-- serial and Discord message id is unique on its own, so adding user_id to the key changes no
-- answer; the import's dedupe key already contains the member id.
ALTER TABLE feedback_events DROP CONSTRAINT feedback_events_pkey,
                            ADD CONSTRAINT feedback_events_pkey PRIMARY KEY (user_id, event_id),
                            DROP CONSTRAINT feedback_events_dedupe_key_key,
                            ADD CONSTRAINT feedback_events_dedupe_key_key UNIQUE (user_id, dedupe_key);
ALTER TABLE recommendation_log DROP CONSTRAINT recommendation_log_pkey,
                               ADD CONSTRAINT recommendation_log_pkey PRIMARY KEY (user_id, log_id);
ALTER TABLE history_imports DROP CONSTRAINT history_imports_pkey,
                            ADD CONSTRAINT history_imports_pkey PRIMARY KEY (user_id, import_id);
ALTER TABLE member_index_queue DROP CONSTRAINT member_index_queue_pkey,
                               ADD CONSTRAINT member_index_queue_pkey PRIMARY KEY (user_id, queued_id);
ALTER TABLE dm_messages DROP CONSTRAINT dm_messages_pkey,
                        ADD CONSTRAINT dm_messages_pkey PRIMARY KEY (user_id, message_id);
