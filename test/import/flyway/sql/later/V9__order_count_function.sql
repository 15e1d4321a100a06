CREATE FUNCTION order_count(customer bigint) RETURNS bigint
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT count(*) FROM orders WHERE customer_id = customer;
END;
