-- Revert shop:reporting_schema from pg

BEGIN;

DROP SCHEMA reporting CASCADE;

COMMIT;
