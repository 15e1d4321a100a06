DROP FUNCTION order_count(bigint);
