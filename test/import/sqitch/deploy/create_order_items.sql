-- Deploy shop:create_order_items to pg
-- requires: create_orders
-- requires: create_products

BEGIN;

CREATE TABLE order_items (
    order_id bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    product_id bigint NOT NULL REFERENCES products (id),
    quantity integer NOT NULL DEFAULT 1,
    PRIMARY KEY (order_id, product_id)
);

COMMIT;
