#!/usr/bin/python3
# test/import/make-fixtures.py: writes the migration histories that
# test/t/050_import.pl imports, one directory per tool, from one synthetic
# shop application (23 schema changes: tables, keys, an enum, triggers with
# PL/pgSQL bodies, a BEGIN ATOMIC function, views, a materialized view in
# its own schema, seed data with quotes and semicolons, a DO block, a
# destructive change, a concurrent index).  Each directory is laid out the
# way its tool wants it, with the quirks real histories of that tool have:
#
#   flyway/          V1 .. V1.9, V1.10, V1.11, V1_12, V2, V2.0.1 .. V10 (so
#                    that a text sort is wrong), U files for most versions,
#                    an R__ repeatable migration
#   golang-migrate/  000001_*.up.sql/.down.sql with BEGIN; ... COMMIT; around
#                    whole files, two blocks in one file, a block in the
#                    middle, START TRANSACTION ... END, a missing and an
#                    unparsable down file, a concurrent index
#   dbmate/          -- migrate:up / -- migrate:down, transaction:false, a
#                    file without a down section
#   diesel/          an initial-setup migration, up.sql/down.sql,
#                    metadata.toml with run_in_transaction = false, a
#                    migration without down.sql
#   sqitch/          sqitch.plan with [dependencies] and tags; deploy/,
#                    revert/ and verify/ scripts wrapped in BEGIN/COMMIT
#   alembic/         an Alembic project (alembic.ini, env.py, versions/)
#                    with a branch, a labelled branch, a merge, a second
#                    root with a label and depends_on
#
# Run it again after changing the steps; the output is committed.

import hashlib
import os
import shutil
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))

# (name, upgrade, downgrade or None)
STEPS = [
    ("create_customers",
     "CREATE TABLE customers (\n    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
     "    name text NOT NULL,\n    created_at timestamptz NOT NULL DEFAULT now()\n);\n",
     "DROP TABLE customers;\n"),
    ("create_products",
     "CREATE TABLE products (\n    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
     "    sku text NOT NULL UNIQUE,\n    title text NOT NULL,\n"
     "    price_cents integer NOT NULL CHECK (price_cents >= 0)\n);\n",
     "DROP TABLE products;\n"),
    ("create_orders",
     "CREATE TABLE orders (\n    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
     "    customer_id bigint NOT NULL REFERENCES customers (id),\n"
     "    placed_at timestamptz NOT NULL DEFAULT now()\n);\n",
     "DROP TABLE orders;\n"),
    ("add_customer_email",
     "ALTER TABLE customers ADD COLUMN email text;\n"
     "CREATE UNIQUE INDEX customers_email_key ON customers (lower(email));\n",
     "DROP INDEX customers_email_key;\nALTER TABLE customers DROP COLUMN email;\n"),
    ("index_orders_customer",
     "CREATE INDEX orders_customer_id_idx ON orders (customer_id);\n",
     "DROP INDEX orders_customer_id_idx;\n"),
    ("touch_function",
     "CREATE FUNCTION touch_updated_at() RETURNS trigger\nLANGUAGE plpgsql AS $$\nBEGIN\n"
     "    NEW.updated_at := now();  -- set on every update; see products_touch\n"
     "    RETURN NEW;\nEND;\n$$;\n",
     "DROP FUNCTION touch_updated_at();\n"),
    ("products_updated_at",
     "ALTER TABLE products ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();\n"
     "CREATE TRIGGER products_touch BEFORE UPDATE ON products\n"
     "    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();\n",
     "DROP TRIGGER products_touch ON products;\nALTER TABLE products DROP COLUMN updated_at;\n"),
    ("order_status",
     "CREATE TYPE order_status AS ENUM ('new', 'paid', 'shipped', 'cancelled');\n"
     "ALTER TABLE orders ADD COLUMN status order_status NOT NULL DEFAULT 'new';\n",
     "ALTER TABLE orders DROP COLUMN status;\nDROP TYPE order_status;\n"),
    ("create_order_items",
     "CREATE TABLE order_items (\n"
     "    order_id bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,\n"
     "    product_id bigint NOT NULL REFERENCES products (id),\n"
     "    quantity integer NOT NULL DEFAULT 1,\n    PRIMARY KEY (order_id, product_id)\n);\n",
     "DROP TABLE order_items;\n"),
    ("seed_products",
     "INSERT INTO products (sku, title, price_cents) VALUES\n"
     "    ('TEA-01', 'Earl Grey; loose leaf', 850),\n"
     "    ('MUG-02', 'O''Brien''s mug -- blue', 1200),\n"
     "    ('KIT-03', $$Kettle \"deluxe\"; BEGIN; COMMIT;$$, 4500);\n",
     "DELETE FROM products WHERE sku IN ('TEA-01', 'MUG-02', 'KIT-03');\n"),
    ("order_totals_view",
     "CREATE VIEW order_totals AS\n"
     "    SELECT o.id AS order_id, sum(i.quantity * p.price_cents) AS total_cents\n"
     "      FROM orders o\n      JOIN order_items i ON i.order_id = o.id\n"
     "      JOIN products p ON p.id = i.product_id\n     GROUP BY o.id;\n",
     "DROP VIEW order_totals;\n"),
    ("customer_notes",
     "ALTER TABLE customers ADD COLUMN notes text;\n"
     "COMMENT ON COLUMN customers.notes IS 'Free text; never shown to the customer.';\n",
     "ALTER TABLE customers DROP COLUMN notes;\n"),
    ("quantity_check",
     "ALTER TABLE order_items ADD CONSTRAINT order_items_quantity_positive\n"
     "    CHECK (quantity > 0) NOT VALID;\n"
     "ALTER TABLE order_items VALIDATE CONSTRAINT order_items_quantity_positive;\n",
     "ALTER TABLE order_items DROP CONSTRAINT order_items_quantity_positive;\n"),
    ("rename_product_title",
     "ALTER TABLE products RENAME COLUMN title TO name;\n",
     "ALTER TABLE products RENAME COLUMN name TO title;\n"),
    ("create_addresses",
     "CREATE TABLE addresses (\n    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
     "    customer_id bigint NOT NULL REFERENCES customers (id),\n"
     "    line1 text NOT NULL,\n    city text NOT NULL,\n"
     "    country char(2) NOT NULL DEFAULT 'DE'\n);\n",
     "DROP TABLE addresses;\n"),
    ("index_orders_placed_at",
     "CREATE INDEX orders_placed_at_idx ON orders (placed_at);\n",
     "DROP INDEX orders_placed_at_idx;\n"),
    ("create_audit_log",
     "CREATE TABLE audit_log (\n    id bigserial PRIMARY KEY,\n"
     "    at timestamptz NOT NULL DEFAULT now(),\n"
     "    who text NOT NULL DEFAULT current_user,\n    what jsonb NOT NULL\n);\n",
     "DROP TABLE audit_log;\n"),
    ("audit_orders",
     "CREATE FUNCTION audit_order() RETURNS trigger\nLANGUAGE plpgsql AS $body$\nBEGIN\n"
     "    INSERT INTO audit_log (what) VALUES (to_jsonb(NEW));\n    RETURN NEW;\nEND\n$body$;\n"
     "CREATE TRIGGER orders_audit AFTER INSERT OR UPDATE ON orders\n"
     "    FOR EACH ROW EXECUTE FUNCTION audit_order();\n",
     "DROP TRIGGER orders_audit ON orders;\nDROP FUNCTION audit_order();\n"),
    ("backfill_paid",
     "DO $$\nBEGIN\n    UPDATE orders SET status = 'paid'\n"
     "     WHERE status = 'new' AND placed_at < now() - interval '30 days';\nEND\n$$;\n",
     None),
    ("customer_country",
     "ALTER TABLE customers ADD COLUMN country char(2);\n",
     "ALTER TABLE customers DROP COLUMN country;\n"),
    ("drop_customer_notes",
     "ALTER TABLE customers DROP COLUMN notes;\n",
     "ALTER TABLE customers ADD COLUMN notes text;\n"),
    ("order_count_function",
     "CREATE FUNCTION order_count(customer bigint) RETURNS bigint\nLANGUAGE sql STABLE\n"
     "BEGIN ATOMIC\n    SELECT count(*) FROM orders WHERE customer_id = customer;\nEND;\n",
     "DROP FUNCTION order_count(bigint);\n"),
    ("reporting_schema",
     "CREATE SCHEMA reporting;\n"
     "CREATE MATERIALIZED VIEW reporting.daily_orders AS\n"
     "    SELECT date_trunc('day', placed_at) AS day, count(*) AS orders\n"
     "      FROM orders GROUP BY 1;\n",
     "DROP SCHEMA reporting CASCADE;\n"),
]

CONCURRENT_UP = "CREATE INDEX CONCURRENTLY orders_placed_at_idx ON orders (placed_at);\n"
CONCURRENT_DOWN = "DROP INDEX CONCURRENTLY orders_placed_at_idx;\n"
CONCURRENT = 15     # index of index_orders_placed_at


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="") as f:
        f.write(text)


def fresh(name):
    path = os.path.join(HERE, name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def flyway():
    d = fresh("flyway")
    versions = ["1", "1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "1.8", "1.9", "1.10",
                "1.11", "1_12", "2", "2.0.1", "2.1", "3", "4", "5", "6", "7", "9", "10"]
    for i, ((name, up, down), v) in enumerate(zip(STEPS, versions)):
        sub = "sql" if i < 12 else "sql/later"     # Flyway scans locations recursively
        write(os.path.join(d, sub, "V%s__%s.sql" % (v, name)), up)
        if down is not None and name not in ("create_audit_log",):
            write(os.path.join(d, sub, "U%s__%s.sql" % (v, name)), down)
    write(os.path.join(d, "sql", "R__order_summary_view.sql"),
          "CREATE OR REPLACE VIEW order_summary AS\n    SELECT status, count(*) FROM orders GROUP BY status;\n")


def golang_migrate():
    d = fresh("golang-migrate")
    for i, (name, up, down) in enumerate(STEPS):
        n = i + 1
        if name == "create_orders":
            up = "BEGIN;\n\n" + up + "\nCOMMIT;\n"
            down = "BEGIN;\n" + down + "COMMIT;\n"
        elif name == "add_customer_email":
            a, b = up.splitlines(keepends=True)
            up = "BEGIN;\n" + a + "COMMIT;\n\nBEGIN;\n" + b + "COMMIT;\n"
        elif name == "order_status":
            a, b = up.splitlines(keepends=True)
            up = a + "BEGIN; " + b + "COMMIT;\n-- the default applies to new rows only\n"
        elif name == "create_order_items":
            up = "START TRANSACTION;\n" + up + "END;\n"
        elif name == "touch_function":
            up = "BEGIN;\n" + up + "COMMIT;\n"
        elif name == "customer_notes":
            down = "ALTER TABLE customers DROP COLUM notes;\n"      # a typo: never ran
        elif i == CONCURRENT:
            up, down = CONCURRENT_UP, CONCURRENT_DOWN
        write(os.path.join(d, "%06d_%s.up.sql" % (n, name)), up)
        if down is not None:
            write(os.path.join(d, "%06d_%s.down.sql" % (n, name)), down)


def dbmate():
    d = fresh("dbmate")
    for i, (name, up, down) in enumerate(STEPS):
        version = "202401%02d%02d0000" % (1 + i // 4, 9 + i % 4)
        opts = ""
        if i == CONCURRENT:
            up, down, opts = CONCURRENT_UP, CONCURRENT_DOWN, " transaction:false"
        # dbmate wants a down section in every file: an empty one undoes nothing.
        text = "-- migrate:up%s\n%s\n-- migrate:down%s\n%s" % (opts, up, opts, down or "")
        write(os.path.join(d, "%s_%s.sql" % (version, name)), text)


def diesel():
    d = fresh("diesel")
    write(os.path.join(d, "00000000000000_diesel_initial_setup", "up.sql"),
          "-- Set up by the project's first migration: a helper that keeps an\n"
          "-- updated_at column current on the tables that ask for it.\n"
          "CREATE OR REPLACE FUNCTION manage_updated_at(tbl regclass) RETURNS void AS $$\n"
          "BEGIN\n    EXECUTE format('CREATE TRIGGER set_updated_at BEFORE UPDATE ON %s\n"
          "                    FOR EACH ROW EXECUTE PROCEDURE set_updated_at()', tbl);\nEND;\n"
          "$$ LANGUAGE plpgsql;\n\n"
          "CREATE OR REPLACE FUNCTION set_updated_at() RETURNS trigger AS $$\nBEGIN\n"
          "    IF NEW IS DISTINCT FROM OLD AND NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at THEN\n"
          "        NEW.updated_at := current_timestamp;\n    END IF;\n    RETURN NEW;\nEND;\n"
          "$$ LANGUAGE plpgsql;\n")
    write(os.path.join(d, "00000000000000_diesel_initial_setup", "down.sql"),
          "DROP FUNCTION IF EXISTS manage_updated_at(_tbl regclass);\n"
          "DROP FUNCTION IF EXISTS set_updated_at();\n")
    for i, (name, up, down) in enumerate(STEPS):
        dirname = "2024-02-%02d-%06d_%s" % (1 + i // 3, 100000 + 1000 * i, name)
        if i == CONCURRENT:
            up, down = CONCURRENT_UP, CONCURRENT_DOWN
            write(os.path.join(d, dirname, "metadata.toml"), "run_in_transaction = false\n")
        write(os.path.join(d, dirname, "up.sql"), up)
        if down is not None:
            write(os.path.join(d, dirname, "down.sql"), down)


SQITCH_REQUIRES = {
    "create_orders": ["create_customers"],
    "add_customer_email": ["create_customers"],
    "index_orders_customer": ["create_orders"],
    "products_updated_at": ["touch_function", "create_products"],
    "create_order_items": ["create_orders", "create_products"],
    "order_totals_view": ["create_order_items"],
    "audit_orders": ["create_audit_log", "create_orders"],
    "backfill_paid": ["order_status"],
    "reporting_schema": ["create_orders"],
}


def sqitch():
    d = fresh("sqitch")
    write(os.path.join(d, "sqitch.conf"),
          "[core]\n    engine = pg\n    plan_file = sqitch.plan\n    top_dir = .\n")
    plan = ["%syntax-version=1.0.0", "%project=shop", "%uri=https://example.com/shop/", ""]
    for i, (name, up, down) in enumerate(STEPS):
        req = SQITCH_REQUIRES.get(name, [])
        deps = " [%s]" % " ".join(req) if req else ""
        plan.append("%s%s 2024-03-%02dT10:%02d:00Z Ada Dev <ada@example.com> # %s"
                    % (name, deps, 1 + i // 5, i, name.replace("_", " ").capitalize()))
        if name == "seed_products":
            plan.append("@v1.0 2024-03-02T12:00:00Z Ada Dev <ada@example.com> # Tag v1.0.")
        if name == "drop_customer_notes":
            plan.append("@v2.0 2024-03-05T12:00:00Z Ada Dev <ada@example.com> # Tag v2.0.")
        head = "-- Deploy shop:%s to pg\n" % name
        for r in req:
            head += "-- requires: %s\n" % r
        write(os.path.join(d, "deploy", name + ".sql"), head + "\nBEGIN;\n\n" + up + "\nCOMMIT;\n")
        if down is not None:
            write(os.path.join(d, "revert", name + ".sql"),
                  "-- Revert shop:%s from pg\n\nBEGIN;\n\n%s\nCOMMIT;\n" % (name, down))
        if i % 3 == 0:
            write(os.path.join(d, "verify", name + ".sql"),
                  "-- Verify shop:%s on pg\n\nBEGIN;\n\nSELECT 1;\n\nROLLBACK;\n" % name)
    write(os.path.join(d, "sqitch.plan"), "\n".join(plan) + "\n")


def alembic_id(name):
    return hashlib.sha1(name.encode()).hexdigest()[:12]


ALEMBIC_ENV = '''\
"""Alembic's environment for the shop application (test fixture)."""
import os

from alembic import context
from sqlalchemy import create_engine

config = context.config


def url():
    return os.environ.get("SHOP_DATABASE_URL") or config.get_main_option("sqlalchemy.url")


def run_migrations_offline():
    context.configure(url=url(), literal_binds=True,
                      dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    engine = create_engine(url())
    with engine.connect() as connection:
        context.configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
'''


def alembic():
    d = fresh("alembic")
    write(os.path.join(d, "alembic.ini"),
          "[alembic]\nscript_location = %(here)s/migrations\n"
          "sqlalchemy.url = postgresql://localhost/shop\n\n"
          "[loggers]\nkeys = root\n\n[handlers]\nkeys = console\n\n[formatters]\nkeys = generic\n\n"
          "[logger_root]\nlevel = WARN\nhandlers = console\n\n"
          "[handler_console]\nclass = StreamHandler\nargs = (sys.stderr,)\nlevel = NOTSET\n"
          "formatter = generic\n\n[formatter_generic]\nformat = %(levelname)-5.5s %(message)s\n")
    write(os.path.join(d, "migrations", "env.py"), ALEMBIC_ENV)
    ids = {name: alembic_id(name) for name, _, _ in STEPS}
    names = [s[0] for s in STEPS]
    # The graph: a chain to customer_notes, then two branches (the second
    # labelled "audit") merged before index_orders_placed_at; the rest on
    # the merge; reporting_schema is a second root, labelled, depending on
    # create_orders.
    parents = {}
    labels = {}
    depends = {}
    chain = names[:12]
    for a, b in zip(chain, chain[1:]):
        parents[b] = [a]
    parents[chain[0]] = []
    for a, b in zip(["customer_notes", "quantity_check", "rename_product_title"],
                    ["quantity_check", "rename_product_title", "create_addresses"]):
        parents[b] = [a]
    parents["create_audit_log"] = ["customer_notes"]
    labels["create_audit_log"] = ["audit"]
    parents["audit_orders"] = ["create_audit_log"]
    merge = "merge_audit"
    parents["index_orders_placed_at"] = [merge]
    rest = ["index_orders_placed_at", "backfill_paid", "customer_country",
            "drop_customer_notes", "order_count_function"]
    for a, b in zip(rest, rest[1:]):
        parents[b] = [a]
    parents["reporting_schema"] = []
    labels["reporting_schema"] = ["reporting"]
    depends["reporting_schema"] = ["create_orders"]
    ids[merge] = alembic_id(merge)

    def revision_file(name, up, down, message):
        p = parents[name]
        down_rev = "None" if not p else (repr(ids[p[0]]) if len(p) == 1
                                        else repr(tuple(ids[x] for x in p)))
        body = ['"""%s\n\nRevision ID: %s\n"""' % (message, ids[name]),
                "from alembic import op", "import sqlalchemy as sa", "",
                "revision = %r" % ids[name], "down_revision = %s" % down_rev,
                "branch_labels = %r" % (tuple(labels[name]) if name in labels else None),
                "depends_on = %r" % (tuple(ids[x] for x in depends[name]) if name in depends else None),
                "", "", "def upgrade():"]
        body += ["    " + line for line in up.splitlines()] or ["    pass"]
        body += ["", "", "def downgrade():"]
        body += ["    " + line for line in down.splitlines()] or ["    pass"]
        return "\n".join(body) + "\n"

    def sql_ops(sql):
        return "op.execute(%r)" % sql if sql else None

    for i, (name, up, down) in enumerate(STEPS):
        up_code = sql_ops(up)
        if name == "create_audit_log":
            # Written with Alembic's operations, as most Alembic projects are.
            up_code = textwrap.dedent('''\
                op.create_table(
                    "audit_log",
                    sa.Column("id", sa.BigInteger, sa.Identity(always=False), primary_key=True),
                    sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
                    sa.Column("who", sa.Text, nullable=False, server_default=sa.text("CURRENT_USER")),
                    sa.Column("what", sa.dialects.postgresql.JSONB, nullable=False),
                )''')
            down_code = 'op.drop_table("audit_log")'
        elif name == "customer_country":
            up_code = 'op.add_column("customers", sa.Column("country", sa.CHAR(2)))'
            down_code = 'op.drop_column("customers", "country")'
        elif down is None:
            down_code = 'raise NotImplementedError("the backfill cannot be undone")'
        else:
            down_code = sql_ops(down)
        write(os.path.join(d, "migrations", "versions", "%s_%s.py" % (ids[name], name)),
              revision_file(name, up_code, down_code, name.replace("_", " ").capitalize()))
    parents[merge] = ["audit_orders", "create_addresses"]
    write(os.path.join(d, "migrations", "versions", "%s_%s.py" % (ids[merge], merge)),
          revision_file(merge, "", "", "Merge the audit branch"))


for make in (flyway, golang_migrate, dbmate, diesel, sqitch, alembic):
    make()
