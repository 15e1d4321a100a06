-- Revert shop:add_customer_email from pg

BEGIN;

DROP INDEX customers_email_key;
ALTER TABLE customers DROP COLUMN email;

COMMIT;
