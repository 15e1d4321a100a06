DROP INDEX customers_email_key;
ALTER TABLE customers DROP COLUMN email;
