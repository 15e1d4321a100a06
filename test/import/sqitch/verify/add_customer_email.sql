-- Verify shop:add_customer_email on pg

BEGIN;

SELECT 1;

ROLLBACK;
