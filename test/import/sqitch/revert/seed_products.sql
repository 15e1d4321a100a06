-- Revert shop:seed_products from pg

BEGIN;

DELETE FROM products WHERE sku IN ('TEA-01', 'MUG-02', 'KIT-03');

COMMIT;
