-- migrate:up transaction:false
CREATE INDEX CONCURRENTLY orders_placed_at_idx ON orders (placed_at);

-- migrate:down transaction:false
DROP INDEX CONCURRENTLY orders_placed_at_idx;
