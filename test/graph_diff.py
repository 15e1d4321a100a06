#!/usr/bin/python3
"""Differential test of migr's revision graph against Alembic itself.

    /usr/bin/python3 test/graph_diff.py [--scenarios N] [--seed S] -- PSQL...

PSQL is the command that reaches a scratch database of a server where migr
is installed, e.g. "psql -h /tmp/sock -p 5432 -d scratch".  The database is
wiped: every scenario drops and creates the extension migr and drops the
tables t_* of public.

From the seed, the test draws revision graphs (3 to 12 revisions, several
roots, branch points, merges of 2 or 3 parents, branch labels, depends_on),
a start state (a set of applied revisions closed under parents and
dependencies) and an upgrade or downgrade to a target of every form that
README's target table lists.  Each scenario runs

  - on Alembic (python3-alembic, sqlite in memory): real revision files in a
    temporary directory, whose upgrade() and downgrade() append to a table
    "steps" and keep a table "markers" of what is applied;
  - on migr: the same revisions, whose scripts create and drop a table
    t_<id>, applied to the start state with migr_upgrade(), then the call.

It compares whether each refuses, the steps each ran (as a set; the order
is checked against the graph, since tie-breaks are not determined), and the
resulting applied sets.  A disagreement is either a documented difference
(README, "Differences from Alembic"), matched by one of the named rules in
RULES below, or a failure.  Independently of Alembic it checks after every
migr call: every applied revision has its parents and dependencies applied,
the tables t_* match the applied set, the steps run in an order the graph
allows, a refused call changes nothing, and a downgrade to a revision keeps
it and its ancestors and removes nothing that does not stand on it.

Each class of failure (rule-like key: operation, outcome, target form) is
shrunk to a smallest example (fewer revisions, edges, labels, applied
revisions) that still fails the same way, and printed.  The last line is

  scenarios N, agreeing A, documented differences D (rule: n, ...), mismatches M

and the exit status is 1 when M > 0 or an invariant failed.
"""

import argparse
import collections
import os
import random
import re
import subprocess
import sys
import tempfile
import warnings

warnings.filterwarnings("ignore")

import sqlalchemy  # noqa: E402
from alembic.operations import Operations  # noqa: E402
from alembic.runtime.migration import MigrationContext  # noqa: E402
from alembic.script import ScriptDirectory  # noqa: E402


# ---------------------------------------------------------------------------
# Graphs
# ---------------------------------------------------------------------------

class Rev:
    def __init__(self, rid, parents, labels, deps):
        self.id = rid
        self.parents = list(parents)
        self.labels = list(labels)
        self.deps = list(deps)

    def __repr__(self):
        s = "%s(%s)" % (self.id, ",".join(self.parents))
        if self.labels:
            s += "[%s]" % ",".join(self.labels)
        if self.deps:
            s += "{%s}" % ",".join(self.deps)
        return s


class Graph:
    def __init__(self, revs):
        self.revs = list(revs)
        self.by_id = {r.id: r for r in self.revs}
        self.children = {r.id: [] for r in self.revs}
        self.dependents = {r.id: [] for r in self.revs}
        for r in self.revs:
            for p in r.parents:
                self.children[p].append(r.id)
            for d in r.deps:
                self.dependents[d].append(r.id)
        self.label_of = {lab: r.id for r in self.revs for lab in r.labels}

    def describe(self):
        return "; ".join(repr(r) for r in self.revs)

    def closure(self, start, step):
        seen = set()
        todo = list(start)
        while todo:
            n = todo.pop()
            if n in seen:
                continue
            seen.add(n)
            todo.extend(step(n))
        return seen

    def ancestors(self, ids):
        """ids and all they need (parents and dependencies)."""
        return self.closure(ids, lambda n: self.by_id[n].parents + self.by_id[n].deps)

    def lineage_down(self, ids):
        return self.closure(ids, lambda n: self.by_id[n].parents)

    def lineage_up(self, ids):
        return self.closure(ids, lambda n: self.children[n])

    def needers(self, ids):
        """ids and everything that needs them (children and dependents)."""
        return self.closure(ids, lambda n: self.children[n] + self.dependents[n])

    def heads(self):
        return [r.id for r in self.revs if not self.children[r.id]]

    def tips(self, applied):
        """Applied revisions that no other applied revision needs."""
        result = []
        for r in self.revs:
            if r.id not in applied:
                continue
            others = set(applied) - {r.id}
            if not any(r.id in self.ancestors([o]) for o in others):
                result.append(r.id)
        return result


def rev_id(rng, i):
    return "r%02d%s" % (i, "".join(rng.choice("0123456789abcdef") for _ in range(6)))


def random_graph(rng):
    n = rng.randint(3, 12)
    revs = []
    for i in range(n):
        rid = rev_id(rng, i)
        g = Graph(revs)
        ids = [r.id for r in revs]
        kind = rng.random()
        parents = []
        if i == 0 or kind < 0.18:
            parents = []
        elif kind < 0.33 and len(ids) >= 2:
            k = rng.choice([2, 2, 3])
            pool = g.heads() if rng.random() < 0.7 else ids
            rng.shuffle(pool)
            for cand in pool:
                if len(parents) == k:
                    break
                anc = g.ancestors(parents)
                if cand in anc or any(p in g.ancestors([cand]) for p in parents):
                    continue
                parents.append(cand)
            if len(parents) < 2:
                parents = [rng.choice(ids)]
        else:
            pool = g.heads() if rng.random() < 0.6 else ids
            parents = [rng.choice(pool)]
        deps = []
        if ids and rng.random() < 0.25:
            below = g.ancestors(parents)
            cands = [x for x in ids if x not in below]
            rng.shuffle(cands)
            for cand in cands[:rng.choice([1, 1, 2])]:
                if any(cand in g.ancestors([d]) or d in g.ancestors([cand]) for d in deps):
                    continue
                deps.append(cand)
        labels = ["lb%d" % i] if rng.random() < 0.3 else []
        revs.append(Rev(rid, parents, labels, deps))
    return Graph(revs)


def random_applied(rng, g):
    r = rng.random()
    if r < 0.15:
        return set()
    if r < 0.25:
        return {x.id for x in g.revs}
    tips = rng.sample([x.id for x in g.revs], rng.randint(1, min(3, len(g.revs))))
    return g.ancestors(tips)


def random_target(rng, g, op):
    """A target of one of the forms of README's target table."""
    ids = [r.id for r in g.revs]
    labels = sorted(g.label_of)

    def rev_name():
        rid = rng.choice(ids)
        r = rng.random()
        if r < 0.2:
            return rid[:5]              # a prefix
        if r < 0.35 and labels:
            return rng.choice(labels)   # a plain label
        return rid

    def scope_name():
        if labels and rng.random() < 0.6:
            return rng.choice(labels)
        return rng.choice(ids)

    n = rng.choice([1, 1, 1, 2, 3])
    sign = "+" if op == "upgrade" else "-"
    forms = [
        lambda: "head", lambda: "heads", lambda: "base",
        lambda: rev_name(), lambda: rev_name(),
        lambda: "%s%d" % (sign, n),
        lambda: "%s%s%d" % (rev_name(), rng.choice("+-"), n),
        lambda: "head-%d" % n, lambda: "base+%d" % n,
    ]
    inner = [
        lambda: "head", lambda: "heads", lambda: "base",
        lambda: rev_name(), lambda: "%s%d" % (sign, n),
        lambda: "head-%d" % n, lambda: "base+%d" % n,
        lambda: "%s%s%d" % (rev_name(), rng.choice("+-"), n),
    ]
    if rng.random() < 0.45:
        return "%s@%s" % (scope_name(), rng.choice(inner)())
    return rng.choice(forms)()


# ---------------------------------------------------------------------------
# Alembic
# ---------------------------------------------------------------------------

REV_TEMPLATE = '''"""%(id)s"""
from alembic import op

revision = %(id)r
down_revision = %(down)r
branch_labels = %(labels)r
depends_on = %(deps)r


def upgrade():
    op.execute("INSERT INTO steps (step) VALUES ('+%(id)s')")
    op.execute("INSERT INTO markers (rev) VALUES ('%(id)s')")


def downgrade():
    op.execute("INSERT INTO steps (step) VALUES ('-%(id)s')")
    op.execute("DELETE FROM markers WHERE rev = '%(id)s'")
'''


class AlembicSide:
    def __init__(self, g, workdir):
        self.g = g
        self.dir = tempfile.mkdtemp(prefix="alembic-", dir=workdir)
        os.mkdir(os.path.join(self.dir, "versions"))
        for r in g.revs:
            down = None
            if len(r.parents) == 1:
                down = r.parents[0]
            elif r.parents:
                down = tuple(r.parents)
            with open(os.path.join(self.dir, "versions", r.id + ".py"), "w") as f:
                f.write(REV_TEMPLATE % {
                    "id": r.id, "down": down,
                    "labels": tuple(r.labels) or None,
                    "deps": tuple(r.deps) or None})
        self.script = ScriptDirectory(self.dir)
        self.engine = sqlalchemy.create_engine("sqlite://")

    def run(self, applied, op, target):
        """(error or None, steps, applied set after)"""
        g = self.g
        with self.engine.connect() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS steps")
            conn.exec_driver_sql("DROP TABLE IF EXISTS markers")
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
            conn.exec_driver_sql("CREATE TABLE steps (n INTEGER PRIMARY KEY AUTOINCREMENT, step TEXT)")
            conn.exec_driver_sql("CREATE TABLE markers (rev TEXT PRIMARY KEY)")
            conn.exec_driver_sql("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
            for rid in applied:
                conn.exec_driver_sql("INSERT INTO markers VALUES ('%s')" % rid)
            for rid in g.tips(applied):
                conn.exec_driver_sql("INSERT INTO alembic_version VALUES ('%s')" % rid)

            script = self.script

            def fn(rev, context):
                if op == "upgrade":
                    return script._upgrade_revs(target, rev)
                return script._downgrade_revs(target, rev)

            error = None
            try:
                ctx = MigrationContext.configure(conn, opts={"script": script, "fn": fn})
                with Operations.context(ctx):
                    ctx.run_migrations()
            except Exception as e:  # Alembic refuses: any of its errors
                error = "%s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else "")
            steps = [row[0] for row in conn.exec_driver_sql("SELECT step FROM steps ORDER BY n")]
            markers = {row[0] for row in conn.exec_driver_sql("SELECT rev FROM markers")}
            return error, steps, markers


# ---------------------------------------------------------------------------
# migr (through one psql session for a whole batch)
# ---------------------------------------------------------------------------

SETUP_SQL = r"""
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS migr CASCADE;
CREATE EXTENSION migr;
-- A fresh catalog: every table of schema migr emptied (but the row of
-- migr.state), and no table t_*.  Cheaper than dropping the extension.
CREATE OR REPLACE FUNCTION public.dt_new() RETURNS void LANGUAGE plpgsql AS $f$
DECLARE t regclass;
BEGIN
  EXECUTE (SELECT 'TRUNCATE ' || string_agg(c.oid::regclass::text, ', ') || ' CASCADE'
             FROM pg_class c
            WHERE c.relnamespace = 'migr'::regnamespace AND c.relkind = 'r'
              AND c.relname <> 'state');
  FOR t IN SELECT c.oid::regclass FROM pg_class c
            WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
              AND c.relname LIKE 't\_%'
  LOOP
    EXECUTE format('DROP TABLE %s', t);
  END LOOP;
END
$f$;
CREATE OR REPLACE FUNCTION public.dt_state() RETURNS text
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $f$
  SELECT concat(
    coalesce((SELECT string_agg(revision, ',' ORDER BY revision) FROM migr.applied), ''), '|',
    coalesce((SELECT string_agg(substr(c.relname, 3), ',' ORDER BY c.relname) FROM pg_class c
               WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
                 AND c.relname LIKE 't\_%'), ''))
$f$;
CREATE OR REPLACE FUNCTION public.dt_run(op text, target text) RETURNS text
LANGUAGE plpgsql AS $f$
DECLARE r text;
BEGIN
  EXECUTE format($q$SELECT string_agg(CASE direction WHEN 'up' THEN '+' ELSE '-' END || revision, ' ' ORDER BY step) FROM migr_%s(%L)$q$, op, target)
    INTO r;
  RETURN 'OK ' || coalesce(r, '');
EXCEPTION WHEN OTHERS THEN
  RETURN 'ERR ' || SQLSTATE || ' ' || replace(SQLERRM, E'\n', ' ');
END
$f$;
\set ON_ERROR_STOP 0
"""


def sql_array(items):
    return "ARRAY[%s]::text[]" % ",".join("'%s'" % x for x in items)


def sql_text(s):
    return "'" + s.replace("'", "''") + "'"


def migr_graph_sql(g):
    """A fresh catalog holding graph g."""
    out = ["SELECT dt_new();"]
    for r in g.revs:
        out.append(
            "SELECT migr_revision('m', 'CREATE TABLE t_%s ()', 'DROP TABLE t_%s', '%s', %s, %s, %s);"
            % (r.id, r.id, r.id, sql_array(r.parents),
               sql_array(r.labels) if r.labels else "NULL",
               sql_array(r.deps) if r.deps else "NULL"))
    return "\n".join(out)


def migr_scenario_sql(key, sc):
    """One scenario on the freshly registered graph, rolled back after."""
    out = ["BEGIN;"]
    for tip in sc.g.tips(sc.applied):
        out.append("SELECT count(*) FROM migr_upgrade('%s');" % tip)
    out.append("SELECT 'S0 %s ' || dt_state();" % key)
    out.append("SELECT 'R %s ' || dt_run('%s', %s);" % (key, sc.op, sql_text(sc.target)))
    out.append("SELECT 'S1 %s ' || dt_state();" % key)
    out.append("ROLLBACK;")
    return "\n".join(out)


def run_migr(psql, scenarios):
    """Run the scenarios in one psql session; {key: (error, steps, applied, tables, start)}."""
    sql = [SETUP_SQL]
    graph = None
    for key, sc in scenarios.items():
        if sc.g is not graph:
            graph = sc.g
            sql.append(migr_graph_sql(graph))
        sql.append(migr_scenario_sql(key, sc))
    proc = subprocess.run(psql + ["-X", "-q", "-A", "-t", "-v", "VERBOSITY=terse"],
                          input="\n".join(sql), capture_output=True, text=True)
    results = {}
    raw = collections.defaultdict(dict)
    for line in proc.stdout.splitlines():
        m = re.match(r"^(S0|R|S1) (\S+) (.*)$", line)
        if m:
            raw[m.group(2)][m.group(1)] = m.group(3)
    for key in scenarios:
        r = raw.get(key, {})
        if "R" not in r or "S0" not in r or "S1" not in r:
            raise SystemExit("migr produced no result for scenario %s; psql said:\n%s"
                             % (key, proc.stderr[-3000:]))
        res = r["R"]
        if res.startswith("ERR "):
            error, steps = res[4:], []
        else:
            error, steps = None, res[3:].split()
        a0, t0 = r["S0"].split("|")
        a1, t1 = r["S1"].split("|")
        split = lambda s: set(s.split(",")) if s else set()
        results[key] = (error, steps, split(a1), split(t1), split(a0), split(t0))
    return results


# ---------------------------------------------------------------------------
# Comparison
# ---------------------------------------------------------------------------

class Scenario:
    def __init__(self, g, applied, op, target):
        self.g, self.applied, self.op, self.target = g, set(applied), op, target

    def describe(self):
        return "graph %s\n    applied {%s}, migr_%s('%s')" % (
            self.g.describe(), ",".join(sorted(self.applied)), self.op, self.target)


def target_form(target):
    """The shape of a target, for classes: ids -> REV, labels -> LABEL."""
    scope, _, inner = target.rpartition("@")

    def shape(t):
        t = re.sub(r"\d+$", "N", t) if re.search(r"[+-]\d+$", t) else t
        m = re.match(r"^(.*?)([+-]N)?$", t)
        head, rel = m.group(1), m.group(2) or ""
        if head in ("head", "heads", "base", ""):
            return head + rel
        if head.startswith("lb"):
            return "LABEL" + rel
        return "REV" + rel
    form = shape(inner)
    if scope:
        form = ("LABEL" if scope.startswith("lb") else "REV") + "@" + form
    return form


def order_ok(g, steps):
    """Steps run in an order the graph allows."""
    done = []
    for s in steps:
        up, rid = s[0] == "+", s[1:]
        r = g.by_id[rid]
        if up:
            before = r.parents + r.deps
        else:
            before = g.children[rid] + g.dependents[rid]
        names = [x[1:] for x in steps]
        for b in before:
            if b in names and b not in done:
                return False
        done.append(rid)
    return True


def resolve_plain(g, name):
    """The revision an explicit name gives (id, prefix or label), or None."""
    if name in g.by_id:
        return name
    if name in g.label_of:
        return g.label_of[name]
    m = [r.id for r in g.revs if r.id.startswith(name)]
    return m[0] if len(m) == 1 else None


def invariants(sc, res):
    """Oracle-free checks of one migr call; a list of problems."""
    g = sc.g
    error, steps, applied, tables, a0, t0 = res
    problems = []
    if a0 != sc.applied or t0 != sc.applied:
        problems.append("start state: applied {%s}, tables {%s}" % (
            ",".join(sorted(a0)), ",".join(sorted(t0))))
        return problems
    for rid in applied:
        r = g.by_id[rid]
        for need in r.parents + r.deps:
            if need not in applied:
                problems.append("%s applied without %s" % (rid, need))
    if tables != applied:
        problems.append("tables {%s} differ from applied {%s}" % (
            ",".join(sorted(tables)), ",".join(sorted(applied))))
    if error is not None and (applied != a0 or steps):
        problems.append("a refused call changed the state")
    if error is None:
        expect = set(a0)
        for s in steps:
            if s[0] == "+":
                expect.add(s[1:])
            else:
                expect.discard(s[1:])
        if expect != applied:
            problems.append("steps do not explain the applied set")
        if not order_ok(g, steps):
            problems.append("steps in an order the graph forbids: %s" % " ".join(steps))
        if sc.op == "upgrade" and any(s[0] == "-" for s in steps):
            problems.append("an upgrade removed revisions")
        if sc.op == "downgrade" and any(s[0] == "+" for s in steps):
            problems.append("a downgrade applied revisions")
    # A downgrade to a named revision: it and all it needs stay, and every
    # removed revision stands on it (through parents) or needs a removed one.
    if error is None and sc.op == "downgrade" and not re.search(r"[+-]\d+$", sc.target):
        scope, _, inner = sc.target.rpartition("@")
        t = resolve_plain(g, inner) if inner not in ("head", "heads", "base") else None
        if t is not None:
            removed = {s[1:] for s in steps}
            if removed & g.ancestors([t]):
                problems.append("downgrade to %s removed what it needs: %s" % (
                    t, ",".join(sorted(removed & g.ancestors([t])))))
            above = g.lineage_up(g.children[t])
            for rid in removed:
                r = g.by_id[rid]
                if rid not in above and not set(r.parents + r.deps) & removed:
                    problems.append("downgrade to %s removed %s, which it does not require" % (t, rid))
    return problems


# Documented differences (README, "Differences from Alembic").  Each rule is
# a predicate on the scenario and both outcomes; the first that matches
# names the difference.

def rule_label_base(sc, mig, alem):
    """label@base is just below the branch's first revision; relative
    targets in a label's branch count from there and stop there (Alembic
    counts a branch off a shared trunk from the root)."""
    scope, _, inner = sc.target.rpartition("@")
    if scope not in sc.g.label_of or not sc.g.by_id[sc.g.label_of[scope]].parents:
        return False        # a branch that starts at a root: no difference
    return inner.startswith("base") or re.search(r"[+-]\d+$", inner) is not None


def rule_minus_one_several_heads(sc, mig, alem):
    """-N (and +N) with several version rows is refused (42P08); Alembic
    warns and picks the first row."""
    return (mig[0] is not None and mig[0].startswith("42P08")
            and "current heads" in mig[0] and alem[0] is None)


def rule_merge_walk(sc, mig, alem):
    """A walk down that reaches a merge lands on all its parents, or
    follows the lineage of X@ through it; Alembic calls it ambiguous."""
    return (re.search(r"[+-]\d+$", sc.target) is not None and mig[0] is None
            and alem[0] is not None and "Ambiguous walk" in alem[0])


def rule_head_depended_on(sc, mig, alem):
    """head ignores heads that other revisions depend on; Alembic counts
    them and refuses head as ambiguous."""
    g = sc.g
    depended = [h for h in g.heads() if g.dependents[h]]
    return bool(depended and "head" in sc.target.replace("heads", "")
                and alem[0] is not None and "Multiple head" in alem[0]
                and mig[0] is None)


def rule_outside_lineage(sc, mig, alem):
    """X@REV with REV outside X's lineage is refused (22023); Alembic's
    downgrade ignores X there and goes to REV."""
    return (mig[0] is not None and mig[0].startswith("22023")
            and "is not in branch" in mig[0])


def rule_walk_off_root(sc, mig, alem):
    """A walk down from a root lands just below it, so the downgrade
    removes what stands on that root only; Alembic walks to base and
    removes every branch."""
    if sc.op != "downgrade" or mig[0] is not None or alem[0] is not None:
        return False
    return (re.search(r"-\d+$", sc.target) is not None and not alem[2]
            and set(alem[1]) > set(mig[1]))


def rule_downgrade_heads(sc, mig, alem):
    """A downgrade to heads, X@head or X@heads: migr resolves them in X's
    lineage (heads: every head, which removes nothing); Alembic's
    downgrade resolves head and heads over the whole graph and refuses
    several."""
    inner = sc.target.rpartition("@")[2]
    return (sc.op == "downgrade" and inner in ("head", "heads") and mig[0] is None
            and alem[0] is not None and "Multiple head" in alem[0])


def rule_nothing_to_remove(sc, mig, alem):
    """A downgrade to an applied revision with nothing above it to remove
    does nothing; Alembic refuses it unless the revision is a version row
    ("not a valid downgrade target")."""
    return (sc.op == "downgrade" and mig[0] is None and not mig[1]
            and alem[0] is not None and "not a valid downgrade target" in alem[0])


def rule_above_revision(sc, mig, alem):
    """X@T downgrades: X's lineage holds what stands on X too, so T may be
    X or above it, with several children; Alembic keeps only the children
    of T among X's ancestors, finds none and refuses ("not a valid
    downgrade target from current heads")."""
    scope = sc.target.rpartition("@")[0]
    return bool(sc.op == "downgrade" and scope
            and mig[0] is None and alem[0] is not None
            and "Not a valid downgrade target from current heads" in alem[0])


def rule_alembic_crash(sc, mig, alem):
    """Alembic fails with an internal error (AssertionError, KeyError) on
    a target it documents, e.g. an upgrade to REV-N that walks to base, or
    refuses heads of which one depends on another ("overlaps")."""
    return alem[0] is not None and (
        alem[0].split(":")[0] in ("AssertionError", "KeyError")
        or "overlaps with other requested revisions" in alem[0])


RULES = [
    ("label@base", rule_label_base),
    ("-1 with several heads", rule_minus_one_several_heads),
    ("walk through a merge", rule_merge_walk),
    ("head ignores depended-on heads", rule_head_depended_on),
    ("X@REV outside the lineage", rule_outside_lineage),
    ("walk off a root", rule_walk_off_root),
    ("downgrade to head(s)", rule_downgrade_heads),
    ("nothing to remove", rule_nothing_to_remove),
    ("X@T at or above X", rule_above_revision),
    ("Alembic internal error", rule_alembic_crash),
]


def compare(sc, mig, alem):
    """None when both agree, else a short description of the mismatch."""
    merr, msteps, mapplied = mig[0], mig[1], mig[2]
    aerr, asteps, aapplied = alem
    if merr is not None and aerr is not None:
        return None
    if merr is not None:
        return "migr refused (%s), Alembic ran %s" % (merr, " ".join(asteps) or "nothing")
    if aerr is not None:
        return "Alembic refused (%s), migr ran %s" % (aerr, " ".join(msteps) or "nothing")
    if sorted(msteps) != sorted(asteps) or mapplied != aapplied:
        return "migr ran %s, Alembic ran %s" % (" ".join(msteps) or "nothing",
                                                 " ".join(asteps) or "nothing")
    # The order, where the graph determines it: two steps of which one
    # needs the other run in the same order on both.
    g = sc.g
    apos = {s: i for i, s in enumerate(asteps)}
    for i, x in enumerate(msteps):
        for y in msteps[i + 1:]:
            if x[1:] in g.ancestors([y[1:]]) or y[1:] in g.ancestors([x[1:]]):
                if apos[x] > apos[y]:
                    return "migr ran %s before %s, Alembic after: %s / %s" % (
                        x, y, " ".join(msteps), " ".join(asteps))
    return None


def mismatch_class(sc, mig, alem):
    outcome = ("migr-refuses" if mig[0] else "migr-runs") + "/" + \
              ("alembic-refuses" if alem[0] else "alembic-runs")
    return "%s %s %s" % (sc.op, target_form(sc.target), outcome)


# ---------------------------------------------------------------------------
# Shrinking
# ---------------------------------------------------------------------------

def smaller_scenarios(sc):
    """Candidate simplifications of a scenario, smallest steps first."""
    g = sc.g
    used = set(re.findall(r"r\d\d[0-9a-f]{6}", sc.target))
    used |= {g.label_of[x] for x in re.findall(r"lb\d+", sc.target) if x in g.label_of}
    for r in g.revs:                      # drop a revision nobody needs
        if g.children[r.id] or g.dependents[r.id] or r.id in used:
            continue
        if any(r.id.startswith(p) for p in re.findall(r"r\d\d[0-9a-f]{3,}", sc.target)):
            continue
        if set(r.labels) & set(re.findall(r"lb\d+", sc.target)):
            continue
        revs = [x for x in g.revs if x.id != r.id]
        yield Scenario(Graph(revs), sc.applied - {r.id}, sc.op, sc.target)
    for r in g.revs:                      # drop a dependency
        for d in r.deps:
            revs = [Rev(x.id, x.parents, x.labels, [y for y in x.deps if not (x is r and y == d)])
                    for x in g.revs]
            yield Scenario(Graph(revs), sc.applied, sc.op, sc.target)
    for r in g.revs:                      # drop a label the target does not use
        for lab in r.labels:
            if lab in sc.target:
                continue
            revs = [Rev(x.id, x.parents, [y for y in x.labels if y != lab], x.deps) for x in g.revs]
            yield Scenario(Graph(revs), sc.applied, sc.op, sc.target)
    for rid in g.tips(sc.applied):        # unapply a tip
        yield Scenario(g, sc.applied - {rid}, sc.op, sc.target)


def shrink(sc, fails, rounds=12):
    """A smaller scenario (greedy) that still fails the same way.  Each
    round tries every candidate in one batch and keeps the first that
    fails."""
    for _ in range(rounds):
        cands = list(smaller_scenarios(sc))
        if not cands:
            break
        verdicts = fails(cands)
        for cand, bad in zip(cands, verdicts):
            if bad:
                sc = cand
                break
        else:
            break
    return sc


# ---------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenarios", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--per-graph", type=int, default=6)
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--no-shrink", action="store_true")
    ap.add_argument("psql", nargs="+")
    args = ap.parse_args()

    rng = random.Random(args.seed)
    workdir = tempfile.mkdtemp(prefix="graph-diff-")
    scenarios = collections.OrderedDict()
    sides = {}
    while len(scenarios) < args.scenarios:
        g = random_graph(rng)
        side = AlembicSide(g, workdir)
        for _ in range(args.per_graph):
            if len(scenarios) >= args.scenarios:
                break
            op = rng.choice(["upgrade", "downgrade"])
            sc = Scenario(g, random_applied(rng, g), op, random_target(rng, g, op))
            key = "s%d" % len(scenarios)
            scenarios[key] = sc
            sides[key] = side

    def run_batch(batch):
        mres = {}
        keys = list(batch)
        for i in range(0, len(keys), args.batch):
            part = collections.OrderedDict((k, batch[k]) for k in keys[i:i + args.batch])
            mres.update(run_migr(args.psql, part))
        return mres

    migr_results = run_batch(scenarios)
    agree = 0
    documented = collections.Counter()
    failures = collections.OrderedDict()   # class -> [(scenario, text)]
    invariant_failures = collections.OrderedDict()
    for key, sc in scenarios.items():
        mig = migr_results[key]
        problems = invariants(sc, mig)
        if problems:
            kind = re.sub(r"r\d\d[0-9a-f]{6}", "REV", problems[0].split(":")[0])
            invariant_failures.setdefault("%s %s: %s" % (sc.op, target_form(sc.target), kind),
                                          []).append((sc, problems))
        alem = sides[key].run(sc.applied, sc.op, sc.target)
        diff = compare(sc, mig, alem)
        if diff is None:
            agree += 1
            continue
        for name, rule in RULES:
            if rule(sc, mig, alem):
                documented[name] += 1
                break
        else:
            failures.setdefault(mismatch_class(sc, mig, alem), []).append((sc, diff))

    # Shrink one example of each failing class.
    nfail = sum(len(v) for v in failures.values())
    for cls, cases in failures.items():
        sc0 = min((c[0] for c in cases), key=lambda s: (len(s.g.revs), len(s.applied)))
        if args.no_shrink:
            print("MISMATCH %s: %d scenario(s); smallest:\n    %s\n    %s"
                  % (cls, len(cases), sc0.describe(),
                     [c[1] for c in cases if c[0] is sc0][0]))
            continue

        def fails(cands, cls=cls):
            batch = collections.OrderedDict(("c%d" % i, c) for i, c in enumerate(cands))
            mres = run_migr(args.psql, batch)
            verdicts = []
            for key, cand in batch.items():
                alem = AlembicSide(cand.g, workdir).run(cand.applied, cand.op, cand.target)
                mig = mres[key]
                verdicts.append(compare(cand, mig, alem) is not None
                                and not any(rule(cand, mig, alem) for _, rule in RULES)
                                and mismatch_class(cand, mig, alem) == cls)
            return verdicts
        small = shrink(sc0, fails)
        mig = run_migr(args.psql, {"x": small})["x"]
        alem = AlembicSide(small.g, workdir).run(small.applied, small.op, small.target)
        print("MISMATCH %s: %d scenario(s); smallest:\n    %s\n    %s"
              % (cls, len(cases), small.describe(), compare(small, mig, alem)))
    for cls, cases in invariant_failures.items():
        sc, problems = min(cases, key=lambda c: len(c[0].g.revs))
        print("INVARIANT %s: %d scenario(s); smallest:\n    %s\n    %s"
              % (cls, len(cases), sc.describe(), "; ".join(problems)))

    ninv = sum(len(v) for v in invariant_failures.values())
    print("scenarios %d, agreeing %d, documented differences %d (%s), mismatches %d, invariant failures %d"
          % (len(scenarios), agree, sum(documented.values()),
             ", ".join("%s: %d" % kv for kv in documented.most_common()) or "none",
             nfail, ninv))
    sys.exit(1 if nfail or ninv else 0)


if __name__ == "__main__":
    main()
