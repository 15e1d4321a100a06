-- Revert shop:audit_orders from pg

BEGIN;

DROP TRIGGER orders_audit ON orders;
DROP FUNCTION audit_order();

COMMIT;
