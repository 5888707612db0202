-- How many of a member's ratings the serving model was trained on (issue 15).
--
-- Why: the ranker's signal weights come in two tables, one learned from members the model was
-- fitted on (held-out positives) and one from members it never saw (new members' first ratings).
-- Pooled, the new members' queries set the weights for every member with few ratings, and known
-- members' lists lost 2-3% NDCG@10 on validation splits. A retrain writes this count with each
-- state it stores; ratings given since leave it as it is, so a member who has rated much more
-- since the model was trained is scored as a new one (engine.ranker.known_to_model).
ALTER TABLE user_embeddings ADD COLUMN trained_ratings integer NOT NULL DEFAULT 0 CHECK (trained_ratings >= 0);
