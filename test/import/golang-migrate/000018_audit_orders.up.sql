CREATE FUNCTION audit_order() RETURNS trigger
LANGUAGE plpgsql AS $body$
BEGIN
    INSERT INTO audit_log (what) VALUES (to_jsonb(NEW));
    RETURN NEW;
END
$body$;
CREATE TRIGGER orders_audit AFTER INSERT OR UPDATE ON orders
    FOR EACH ROW EXECUTE FUNCTION audit_order();
