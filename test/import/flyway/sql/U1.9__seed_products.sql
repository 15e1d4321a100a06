DELETE FROM products WHERE sku IN ('TEA-01', 'MUG-02', 'KIT-03');
