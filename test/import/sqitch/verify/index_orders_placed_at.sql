-- Verify shop:index_orders_placed_at on pg

BEGIN;

SELECT 1;

ROLLBACK;
