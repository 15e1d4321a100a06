BEGIN;
ALTER TABLE customers ADD COLUMN email text;
COMMIT;

BEGIN;
CREATE UNIQUE INDEX customers_email_key ON customers (lower(email));
COMMIT;
