-- Deploy shop:backfill_paid to pg
-- requires: order_status

BEGIN;

DO $$
BEGIN
    UPDATE orders SET status = 'paid'
     WHERE status = 'new' AND placed_at < now() - interval '30 days';
END
$$;

COMMIT;
