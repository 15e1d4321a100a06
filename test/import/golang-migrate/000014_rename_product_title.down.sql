ALTER TABLE products RENAME COLUMN name TO title;
