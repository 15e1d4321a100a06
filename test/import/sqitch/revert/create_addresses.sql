-- Revert shop:create_addresses from pg

BEGIN;

DROP TABLE addresses;

COMMIT;
