CREATE OR REPLACE VIEW order_summary AS
    SELECT status, count(*) FROM orders GROUP BY status;
