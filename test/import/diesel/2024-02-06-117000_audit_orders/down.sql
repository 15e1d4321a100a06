DROP TRIGGER orders_audit ON orders;
DROP FUNCTION audit_order();
