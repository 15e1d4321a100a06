INSERT INTO products (sku, title, price_cents) VALUES
    ('TEA-01', 'Earl Grey; loose leaf', 850),
    ('MUG-02', 'O''Brien''s mug -- blue', 1200),
    ('KIT-03', $$Kettle "deluxe"; BEGIN; COMMIT;$$, 4500);
