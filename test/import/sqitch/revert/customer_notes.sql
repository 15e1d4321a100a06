-- Revert shop:customer_notes from pg

BEGIN;

ALTER TABLE customers DROP COLUMN notes;

COMMIT;
