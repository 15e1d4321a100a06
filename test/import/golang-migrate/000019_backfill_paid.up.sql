DO $$
BEGIN
    UPDATE orders SET status = 'paid'
     WHERE status = 'new' AND placed_at < now() - interval '30 days';
END
$$;
