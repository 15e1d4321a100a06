CREATE SCHEMA reporting;
CREATE MATERIALIZED VIEW reporting.daily_orders AS
    SELECT date_trunc('day', placed_at) AS day, count(*) AS orders
      FROM orders GROUP BY 1;
