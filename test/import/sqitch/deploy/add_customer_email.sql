-- Deploy shop:add_customer_email to pg
-- requires: create_customers

BEGIN;

ALTER TABLE customers ADD COLUMN email text;
CREATE UNIQUE INDEX customers_email_key ON customers (lower(email));

COMMIT;
