-- Verify shop:order_count_function on pg

BEGIN;

SELECT 1;

ROLLBACK;
