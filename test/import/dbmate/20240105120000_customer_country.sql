-- migrate:up
ALTER TABLE customers ADD COLUMN country char(2);

-- migrate:down
ALTER TABLE customers DROP COLUMN country;
