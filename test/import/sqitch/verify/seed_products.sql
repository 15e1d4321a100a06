-- Verify shop:seed_products on pg

BEGIN;

SELECT 1;

ROLLBACK;
