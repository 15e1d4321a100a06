-- migr:revision 0001_initial_schema
-- migr:down_revision
-- migr:message initial schema

-- The first schema of the application: subscription tiers and users, with
-- the admin account the application needs to start.  Before launch this
-- file may still be edited in place (see "Production guards" in README.md).

-- migr:upgrade
CREATE TABLE tiers (
    id    integer PRIMARY KEY,
    name  text NOT NULL UNIQUE
);
INSERT INTO tiers VALUES (1, 'free'), (2, 'pro');

CREATE TABLE users (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email    text NOT NULL UNIQUE,
    plan     text NOT NULL DEFAULT 'free',   -- the plan's name; see 0003
    is_admin boolean NOT NULL DEFAULT false
);
INSERT INTO users (email, plan, is_admin)
VALUES ('admin@example.com', 'pro', true);

-- migr:downgrade
DROP TABLE users;
DROP TABLE tiers;
