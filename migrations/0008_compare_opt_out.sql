-- A member may keep their taste out of /compare (and, later, group picks they did not join).
ALTER TABLE user_settings ADD COLUMN compare_enabled boolean NOT NULL DEFAULT true;
