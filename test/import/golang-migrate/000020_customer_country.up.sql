ALTER TABLE customers ADD COLUMN country char(2);
