-- Periodic jobs claim their period, so that with several bot processes exactly one runs each period.
ALTER TABLE job_runs ADD COLUMN period_start timestamptz;
CREATE UNIQUE INDEX job_runs_period_idx ON job_runs (job, period_start) WHERE period_start IS NOT NULL;
