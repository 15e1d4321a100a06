CREATE VIEW order_totals AS
    SELECT o.id AS order_id, sum(i.quantity * p.price_cents) AS total_cents
      FROM orders o
      JOIN order_items i ON i.order_id = o.id
      JOIN products p ON p.id = i.product_id
     GROUP BY o.id;
