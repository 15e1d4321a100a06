-- Revert shop:order_count_function from pg

BEGIN;

DROP FUNCTION order_count(bigint);

COMMIT;
