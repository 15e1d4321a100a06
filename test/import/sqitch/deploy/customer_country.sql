-- Deploy shop:customer_country to pg

BEGIN;

ALTER TABLE customers ADD COLUMN country char(2);

COMMIT;
