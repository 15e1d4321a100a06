-- Revert shop:customer_country from pg

BEGIN;

ALTER TABLE customers DROP COLUMN country;

COMMIT;
