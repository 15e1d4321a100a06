-- Verify shop:quantity_check on pg

BEGIN;

SELECT 1;

ROLLBACK;
