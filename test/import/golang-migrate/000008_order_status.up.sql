CREATE TYPE order_status AS ENUM ('new', 'paid', 'shipped', 'cancelled');
BEGIN; ALTER TABLE orders ADD COLUMN status order_status NOT NULL DEFAULT 'new';
COMMIT;
-- the default applies to new rows only
