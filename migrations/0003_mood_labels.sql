-- Each mood carries the weak-label rule its probability is calibrated against (genres, words, ratings).
ALTER TABLE sliders ADD COLUMN labels jsonb NOT NULL DEFAULT '{}';
