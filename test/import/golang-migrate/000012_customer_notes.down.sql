ALTER TABLE customers DROP COLUM notes;
