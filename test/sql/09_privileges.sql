-- 09_privileges: who may call what; scripts run as the caller; catalog SQL
-- cannot be hijacked by objects on the caller's search_path
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/helpers/core.sql
-- Roles: a deploy role a DBA lets migrate, an application role with no
-- grant, and a malicious role that also got EXECUTE.
SET client_min_messages = warning;
DO $$
DECLARE r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['regress_migr_deployer', 'regress_migr_app', 'regress_migr_evil'] LOOP
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
      EXECUTE format('DROP OWNED BY %I CASCADE', r);
      EXECUTE format('DROP ROLE %I', r);
    END IF;
  END LOOP;
END $$;
DROP SCHEMA IF EXISTS regress_evil CASCADE;
DROP SCHEMA IF EXISTS regress_set_x CASCADE;
DROP TABLE IF EXISTS priv_settings;
RESET client_min_messages;
CREATE ROLE regress_migr_deployer;
CREATE ROLE regress_migr_app;
CREATE ROLE regress_migr_evil;
GRANT EXECUTE ON FUNCTION migr_revision(text, text, text, text, text[], text[], text[], boolean, boolean),
      migr_merge(text[], text, text), migr_upgrade(text, boolean),
      migr_upgrade(integer), migr_downgrade(text, boolean), migr_downgrade(integer),
      migr_stamp(VARIADIC text[]), migr_stamp(text[], boolean), migr_show(text)
   TO regress_migr_deployer, regress_migr_evil;
GRANT CREATE ON SCHEMA public TO regress_migr_deployer;
CREATE SCHEMA regress_evil AUTHORIZATION regress_migr_evil;
-- Where a trap would leave its mark.
CREATE TABLE priv_pwned (who name, what text);
GRANT SELECT, INSERT ON priv_pwned TO PUBLIC;

SELECT migr_revision('priv one', 'CREATE TABLE priv_1 (id int)', 'DROP TABLE priv_1', 'priv_r1', '{}');
SELECT step, revision FROM migr_upgrade();

-- The application role: no EXECUTE on anything that changes something, nor
-- on migr_show; no access to the catalog tables.
SET ROLE regress_migr_app;
SELECT refused($$SELECT * FROM migr_upgrade()$$);
SELECT refused($$SELECT * FROM migr_upgrade(1)$$);
SELECT refused($$SELECT * FROM migr_downgrade('base')$$);
SELECT refused($$SELECT * FROM migr_downgrade(-1)$$);
SELECT refused($$SELECT * FROM migr_stamp('base')$$);
SELECT refused($$SELECT migr_revision('m', 'SELECT 1')$$);
SELECT refused($$SELECT migr_show('head')$$);
SELECT refused($$SELECT * FROM migr.revisions$$);
SELECT refused($$SELECT * FROM migr.log$$);
SELECT refused($$INSERT INTO migr.revisions (id, message, upgrade, checksum, created_by) VALUES ('x', 'x', 'x', 'x', 'x')$$);
SELECT refused($$DELETE FROM migr.version$$);
SELECT refused($$UPDATE migr.state SET generation = 0$$);
-- ... but it can read where the database is.
SELECT * FROM migr_current();
SELECT * FROM migr_heads();
SELECT revision, is_current, applied_at IS NOT NULL AS applied FROM migr_history();
SELECT revision FROM migr_history('current:');
RESET ROLE;

-- The deploy role registers and migrates; its scripts run as itself.
SET ROLE regress_migr_deployer;
SELECT migr_revision('priv two', 'CREATE TABLE priv_2 (id int)', 'DROP TABLE priv_2', 'priv_r2');
SELECT step, revision, direction FROM migr_upgrade();
SELECT current_user = 'regress_migr_deployer' AS still_deployer;
RESET ROLE;
SELECT tablename, CASE WHEN tableowner = session_user THEN '(session user)' ELSE tableowner END AS owner
  FROM pg_tables WHERE tablename IN ('priv_1', 'priv_2') ORDER BY 1;
SELECT revision, CASE WHEN current_user_name = session_user THEN '(session user)' ELSE current_user_name END AS current_user_name,
       session_user_name = session_user AS session_user_ok
  FROM migr.log ORDER BY id;
SELECT revision, CASE WHEN applied_by = session_user THEN '(session user)' ELSE applied_by END AS applied_by
  FROM migr.applied ORDER BY revision;
SELECT id, CASE WHEN created_by = session_user THEN '(session user)' ELSE created_by END AS created_by
  FROM migr.revisions ORDER BY seq;

-- Scripts get no more privilege than the caller: the catalog and roles are
-- out of the deploy role's reach, even through a migration.
SET ROLE regress_migr_deployer;
SELECT migr_revision('sneaky', 'DELETE FROM migr.log', NULL, 'priv_h3');
SELECT refused($$SELECT * FROM migr_upgrade()$$);
SELECT migr_revision('sneaky', 'INSERT INTO migr.version VALUES (''priv_r1'')', NULL, 'priv_h3');
SELECT refused($$SELECT * FROM migr_upgrade()$$);
SELECT migr_revision('sneaky', 'CREATE TABLE migr.mine (id int)', NULL, 'priv_h3');
SELECT refused($$SELECT * FROM migr_upgrade()$$);
SELECT migr_revision('sneaky', 'ALTER ROLE regress_migr_deployer SUPERUSER', NULL, 'priv_h3');
SELECT refused($$SELECT * FROM migr_upgrade()$$);
-- After errors raised inside migr (while it acts as the extension owner, or
-- while a script runs), the caller's identity and settings are intact.
SET search_path = public;
SELECT refused($$SELECT * FROM migr_upgrade('nope_x')$$);
SELECT refused($$SELECT * FROM migr_history('nope_x:')$$);
SELECT refused($$SELECT migr_revision('m', 'SELECT 1', NULL, 'head')$$);
SELECT current_user, current_setting('search_path') AS search_path,
       current_setting('is_superuser') AS is_superuser;
RESET search_path;
SELECT migr_revision('harmless', 'CREATE TABLE priv_3 (id int)', 'DROP TABLE priv_3', 'priv_h3');
SELECT step, revision FROM migr_upgrade();
SELECT step, revision FROM migr_downgrade('priv_r1');
SELECT step, revision FROM migr_upgrade();
RESET ROLE;
SELECT st();
SELECT current_user = session_user AS back_to_session_user;

-- A malicious role with EXECUTE plants functions and operators named like
-- those migr's catalog queries use, in a schema searched before pg_catalog.
-- migr must never run them as the extension owner.
SET ROLE regress_migr_evil;
SET search_path = regress_evil, pg_catalog, public;
CREATE FUNCTION regress_evil.mark(what text) RETURNS void LANGUAGE sql
  AS $f$ INSERT INTO public.priv_pwned VALUES (current_user, what) $f$;
CREATE FUNCTION regress_evil.starts_with(text, text) RETURNS boolean LANGUAGE plpgsql
  AS $f$ BEGIN PERFORM regress_evil.mark('starts_with'); RETURN pg_catalog.starts_with($1, $2); END $f$;
CREATE FUNCTION regress_evil.eq(text, text) RETURNS boolean LANGUAGE plpgsql
  AS $f$ BEGIN PERFORM regress_evil.mark('='); RETURN pg_catalog.texteq($1, $2); END $f$;
CREATE OPERATOR regress_evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = regress_evil.eq);
CREATE FUNCTION regress_evil.ge(text, text) RETURNS boolean LANGUAGE plpgsql
  AS $f$ BEGIN PERFORM regress_evil.mark('>='); RETURN pg_catalog.text_ge($1, $2); END $f$;
CREATE OPERATOR regress_evil.>= (LEFTARG = text, RIGHTARG = text, FUNCTION = regress_evil.ge);
CREATE FUNCTION regress_evil.lt(text, text) RETURNS boolean LANGUAGE plpgsql
  AS $f$ BEGIN PERFORM regress_evil.mark('<'); RETURN pg_catalog.text_lt($1, $2); END $f$;
CREATE OPERATOR regress_evil.< (LEFTARG = text, RIGHTARG = text, FUNCTION = regress_evil.lt);
CREATE FUNCTION regress_evil.cat(text, text) RETURNS text LANGUAGE plpgsql
  AS $f$ BEGIN PERFORM regress_evil.mark('||'); RETURN pg_catalog.textcat($1, $2); END $f$;
CREATE OPERATOR regress_evil.|| (LEFTARG = text, RIGHTARG = text, FUNCTION = regress_evil.cat);
CREATE FUNCTION regress_evil.contains(text[], text[]) RETURNS boolean LANGUAGE plpgsql
  AS $f$ BEGIN PERFORM regress_evil.mark('@>'); RETURN pg_catalog.arraycontains($1, $2); END $f$;
CREATE OPERATOR regress_evil.@> (LEFTARG = text[], RIGHTARG = text[], FUNCTION = regress_evil.contains);
CREATE FUNCTION regress_evil.unnest(text[]) RETURNS SETOF text LANGUAGE plpgsql
  AS $f$ BEGIN PERFORM regress_evil.mark('unnest'); RETURN QUERY SELECT pg_catalog.unnest($1); END $f$;
CREATE FUNCTION regress_evil.nextval(regclass) RETURNS bigint LANGUAGE plpgsql
  AS $f$ BEGIN PERFORM regress_evil.mark('nextval'); RETURN pg_catalog.nextval($1); END $f$;
CREATE FUNCTION regress_evil.now() RETURNS timestamptz LANGUAGE plpgsql
  AS $f$ BEGIN PERFORM regress_evil.mark('now'); RETURN pg_catalog.now(); END $f$;
CREATE FUNCTION regress_evil.inet_client_addr() RETURNS inet LANGUAGE plpgsql
  AS $f$ BEGIN PERFORM regress_evil.mark('inet_client_addr'); RETURN pg_catalog.inet_client_addr(); END $f$;
CREATE FUNCTION regress_evil.pg_current_xact_id() RETURNS xid8 LANGUAGE plpgsql
  AS $f$ BEGIN PERFORM regress_evil.mark('pg_current_xact_id'); RETURN pg_catalog.pg_current_xact_id(); END $f$;
-- The traps work: used by the role itself, they fire.
SELECT 'a'::text = 'a'::text AS eq, starts_with('abc', 'a') AS sw, now() IS NOT NULL AS now;
SELECT who, what FROM priv_pwned ORDER BY what;
RESET ROLE;
DELETE FROM priv_pwned;
SET ROLE regress_migr_evil;
SET search_path = regress_evil, pg_catalog, public;
-- Every migr function, with parents and targets given as prefixes.
SELECT refused($$SELECT migr_revision('evil one', 'CREATE TABLE regress_evil.evil_1 (id int)', 'DROP TABLE regress_evil.evil_1', 'evil_e1', ARRAY['priv_'])$$);
SELECT migr_revision('evil one', 'CREATE TABLE regress_evil.evil_1 (id int)', 'DROP TABLE regress_evil.evil_1', 'evil_e1', ARRAY['priv_h']) AS e1;
SELECT migr_revision('evil one', 'CREATE TABLE regress_evil.evil_1 (id int)', 'DROP TABLE regress_evil.evil_1', 'evil_e1', ARRAY['priv_h3']) AS e1_again;
SELECT down_revision FROM migr_show('evil_e1');
SELECT migr_revision('evil two', 'CREATE TABLE regress_evil.evil_2 (id int)', 'DROP TABLE regress_evil.evil_2') IS NOT NULL AS e2;
SELECT step, revision FROM migr_upgrade('evil_e');
SELECT count(*) AS steps FROM migr_upgrade();
SELECT count(*) AS steps FROM migr_upgrade();
SELECT count(*) AS steps FROM migr_upgrade('evil_e1');
SELECT count(*) AS steps FROM migr_downgrade(-1);
SELECT count(*) AS steps FROM migr_upgrade(1);
SELECT count(*) AS steps FROM migr_downgrade('evil');
SELECT count(*) AS steps FROM migr_stamp('head');
SELECT count(*) AS steps FROM migr_stamp('evil_e1');
SELECT count(*) AS steps FROM migr_upgrade('heads');
SELECT count(*) AS current FROM migr_current();
SELECT count(*) AS heads FROM migr_heads();
SELECT count(*) AS history FROM migr_history();
SELECT count(*) AS history FROM migr_history('priv_r1:evil_e1');
SELECT count(*) AS history FROM migr_history('-1:');
SELECT (migr_show('evil_e1')).revision AS shown;
SELECT (migr_show('head')).message AS head_message;
SELECT refused($$SELECT * FROM migr_upgrade('evil_e9')$$);
RESET ROLE;
RESET search_path;
-- Nothing planted by the malicious role ran with anyone else's identity.
SELECT count(*) AS trap_calls_as_other_roles FROM priv_pwned WHERE who <> 'regress_migr_evil';
SELECT revision = 'evil_e1' AS e1, operation, direction, current_user_name FROM migr.log WHERE current_user_name = 'regress_migr_evil' ORDER BY id;

-- Settings a script changes (SET search_path, set_config) last
-- until the end of its step, like a function's SET clause: the script's later
-- statements see them, the next step and the caller do not.
CREATE SCHEMA regress_set_x;
CREATE TABLE priv_settings (step int, who name, path text, app text);
GRANT INSERT ON priv_settings TO PUBLIC;
SELECT migr_revision('settings one', $s$
SET search_path = regress_set_x, public;
SELECT set_config('application_name', 'from_script', false);
CREATE TABLE set_t (id int);
INSERT INTO priv_settings SELECT 1, current_user, current_setting('search_path'), current_setting('application_name');
$s$, 'DROP TABLE regress_set_x.set_t', 'priv_s1', '{}');
SELECT migr_revision('settings two', $s$
INSERT INTO public.priv_settings SELECT 2, current_user, current_setting('search_path'), current_setting('application_name');
$s$, 'SET search_path = regress_set_x', 'priv_s2', ARRAY['priv_s1']);
SET application_name = 'caller_app';
SELECT step, revision FROM migr_upgrade('priv_s2');
SELECT step, CASE WHEN who = session_user THEN '(session user)' ELSE who END AS who, path, app
  FROM priv_settings ORDER BY step;
SELECT to_regclass('regress_set_x.set_t') IS NOT NULL AS created_in_script_path;
SELECT current_user = session_user AS caller_user, current_setting('search_path') AS search_path,
       current_setting('application_name') AS application_name;
-- The same inside an explicit transaction, going down.
BEGIN;
SET LOCAL search_path = public;
SELECT step, revision FROM migr_downgrade('priv_s1');
SELECT current_user = session_user AS caller_user, current_setting('search_path') AS search_path;
ROLLBACK;
RESET application_name;

-- Clean up.
SET client_min_messages = warning;
DROP SCHEMA regress_set_x CASCADE;
DROP TABLE priv_settings;
DROP EXTENSION migr CASCADE;
DROP SCHEMA regress_evil CASCADE;
DROP TABLE priv_pwned, priv_1, priv_2, priv_3;
DROP OWNED BY regress_migr_deployer, regress_migr_app, regress_migr_evil CASCADE;
DROP ROLE regress_migr_deployer;
DROP ROLE regress_migr_app;
DROP ROLE regress_migr_evil;
RESET client_min_messages;
