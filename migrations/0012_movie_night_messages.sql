-- Movie nights outlive the process that posted them: where the vote message is (so the deadline closes
-- it from any process, after a restart too), and each member's chances per option and fairness weight
-- (so the winner's tie-break and the next night's fairness need nothing held in memory).
ALTER TABLE movie_nights ADD COLUMN channel_id bigint, ADD COLUMN message_id bigint;
CREATE INDEX movie_nights_open_idx ON movie_nights (deadline) WHERE closed_at IS NULL;
ALTER TABLE movie_night_members ADD COLUMN chances real[], ADD COLUMN fairness real;
