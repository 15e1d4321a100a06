-- Verify shop:backfill_paid on pg

BEGIN;

SELECT 1;

ROLLBACK;
