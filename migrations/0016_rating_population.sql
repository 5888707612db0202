-- The numbers the PreferenceLearner judges a member's rating behaviour against (the global mean and
-- the spread of member means), kept by each bulk learner run (issue 15).
--
-- Why: an on-demand analysis of one member (/my_stats after a rating) aggregated every rating to get
-- them: seconds at 30 million ratings, within reach of a request's 30 s command timeout. They move
-- slowly, so one member's analysis now reads this row; only a database with no bulk run yet
-- computes them live.
CREATE TABLE rating_population (
    only_row       boolean     PRIMARY KEY DEFAULT true CHECK (only_row),
    global_mean    float8,
    user_mean_mean float8,
    user_mean_sd   float8,
    computed_at    timestamptz NOT NULL  -- the learner's snapshot time: an older run never replaces a newer one
);
