-- Revert shop:products_updated_at from pg

BEGIN;

DROP TRIGGER products_touch ON products;
ALTER TABLE products DROP COLUMN updated_at;

COMMIT;
