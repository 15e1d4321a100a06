-- migrate:up
ALTER TABLE customers DROP COLUMN notes;

-- migrate:down
ALTER TABLE customers ADD COLUMN notes text;
