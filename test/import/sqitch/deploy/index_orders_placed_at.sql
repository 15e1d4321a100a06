-- Deploy shop:index_orders_placed_at to pg

BEGIN;

CREATE INDEX orders_placed_at_idx ON orders (placed_at);

COMMIT;
