-- migr:revision 0003_users_tier_id
-- migr:down_revision 0002_add_widget_table
-- migr:message users reference their tier

-- A data migration: users get a tier_id, filled in from the plan name they
-- have today.  Additive: code that still reads users.plan keeps working, so
-- rolling the code back past this revision needs no downgrade.  The plan
-- column goes away in a deploy of its own (0004), once no code reads it.
-- (No SET NOT NULL here: code that inserts NULL would break, which makes
-- it a destructive change of its own.)

-- migr:upgrade
ALTER TABLE users ADD COLUMN tier_id integer REFERENCES tiers;
UPDATE users u SET tier_id = t.id FROM tiers t WHERE t.name = u.plan;
UPDATE users SET tier_id = 1 WHERE tier_id IS NULL;
ALTER TABLE users ALTER COLUMN tier_id SET DEFAULT 1;

-- migr:downgrade
ALTER TABLE users DROP COLUMN tier_id;
