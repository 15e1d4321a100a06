-- Revert shop:order_totals_view from pg

BEGIN;

DROP VIEW order_totals;

COMMIT;
