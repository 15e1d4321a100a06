-- migr:revision 0004_drop_users_plan
-- migr:down_revision 0003_users_tier_id
-- migr:message drop users.plan
-- migr:destructive true

-- The second deploy of the two-deploy rule: the code running now uses
-- users.tier_id only, so the old column can go.  destructive true
-- acknowledges the DROP COLUMN, which production refuses otherwise.

-- migr:upgrade
ALTER TABLE users DROP COLUMN plan;

-- migr:downgrade
ALTER TABLE users ADD COLUMN plan text NOT NULL DEFAULT 'free';
UPDATE users u SET plan = t.name FROM tiers t WHERE t.id = u.tier_id;
