-- migrate:up
CREATE TYPE order_status AS ENUM ('new', 'paid', 'shipped', 'cancelled');
ALTER TABLE orders ADD COLUMN status order_status NOT NULL DEFAULT 'new';

-- migrate:down
ALTER TABLE orders DROP COLUMN status;
DROP TYPE order_status;
