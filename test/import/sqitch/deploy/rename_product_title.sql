-- Deploy shop:rename_product_title to pg

BEGIN;

ALTER TABLE products RENAME COLUMN title TO name;

COMMIT;
