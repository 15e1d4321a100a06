-- Revert shop:drop_customer_notes from pg

BEGIN;

ALTER TABLE customers ADD COLUMN notes text;

COMMIT;
