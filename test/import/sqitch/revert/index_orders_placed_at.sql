-- Revert shop:index_orders_placed_at from pg

BEGIN;

DROP INDEX orders_placed_at_idx;

COMMIT;
