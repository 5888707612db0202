-- A logged score is a real number: NaN and infinities are refused (PostgreSQL's real accepts them).
ALTER TABLE recommendation_log ADD CONSTRAINT recommendation_log_score_finite
    CHECK (score NOT IN ('NaN'::real, 'Infinity'::real, '-Infinity'::real));
