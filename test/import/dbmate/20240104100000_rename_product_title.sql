-- migrate:up
ALTER TABLE products RENAME COLUMN title TO name;

-- migrate:down
ALTER TABLE products RENAME COLUMN name TO title;
