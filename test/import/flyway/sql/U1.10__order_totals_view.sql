DROP VIEW order_totals;
