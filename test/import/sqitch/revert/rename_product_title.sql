-- Revert shop:rename_product_title from pg

BEGIN;

ALTER TABLE products RENAME COLUMN name TO title;

COMMIT;
