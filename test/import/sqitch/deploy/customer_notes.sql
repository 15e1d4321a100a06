-- Deploy shop:customer_notes to pg

BEGIN;

ALTER TABLE customers ADD COLUMN notes text;
COMMENT ON COLUMN customers.notes IS 'Free text; never shown to the customer.';

COMMIT;
