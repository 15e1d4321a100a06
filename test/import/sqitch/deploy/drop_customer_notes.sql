-- Deploy shop:drop_customer_notes to pg

BEGIN;

ALTER TABLE customers DROP COLUMN notes;

COMMIT;
