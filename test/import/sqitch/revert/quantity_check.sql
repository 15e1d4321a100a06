-- Revert shop:quantity_check from pg

BEGIN;

ALTER TABLE order_items DROP CONSTRAINT order_items_quantity_positive;

COMMIT;
