-- Verify shop:products_updated_at on pg

BEGIN;

SELECT 1;

ROLLBACK;
