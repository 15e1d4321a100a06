-- Verify shop:create_customers on pg

BEGIN;

SELECT 1;

ROLLBACK;
