-- Revert shop:order_status from pg

BEGIN;

ALTER TABLE orders DROP COLUMN status;
DROP TYPE order_status;

COMMIT;
