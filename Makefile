# migr: PGXS build.  `make demo` and `make test` are described in README.md.

EXTENSION    = migr
EXTVERSION   = $(shell sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" migr.control)

MODULE_big   = migr
OBJS         = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))
DATA         = $(wildcard sql/migr--*.sql)

# `make installcheck` against a running server (PGHOST, PGPORT, PGUSER), as in
# every PGXS extension: the pg_regress files of test/sql with expected/ at the
# top, then the TAP files of test/t (they start servers of their own, so run
# it as a user who may run initdb).  `make test` runs these and the pgTAP
# files on a throwaway cluster and is what CI runs.
REGRESS      = $(sort $(basename $(notdir $(wildcard test/sql/*.sql))))
REGRESS_OPTS = --inputdir=test --encoding=UTF8 --no-locale
TAP_TESTS    = 1
PROVE_TESTS  = $(sort $(wildcard test/t/*.pl))

PG_CONFIG   ?= pg_config
PG_CPPFLAGS += -I$(srcdir)/src
PG_CFLAGS   += -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers

PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(PGXS),)
include $(PGXS)
# After the include: Makefile.global resets PROVE_FLAGS.
PROVE_FLAGS += -I test
endif

# PGXS does not track headers: every object depends on the shared one.
$(OBJS): src/migr.h

# ---------------------------------------------------------------------------
# Harness: `make demo` and `make test` work on a fresh Debian 12 (as root they
# install the packages they need), so they only call scripts and must not
# depend on PGXS having been included above.  See scripts/run-tests.sh for
# the test conventions.
# ---------------------------------------------------------------------------

.PHONY: demo test indent

demo:
	@bash scripts/demo.sh

test:
	@bash scripts/run-tests.sh

# Format src/ as pgindent does (pg_bsd_indent with typedefs.list);
# `bash scripts/indent.sh --check` only reports.
indent:
	@bash scripts/indent.sh

ifeq ($(PGXS),)
# Without pg_config only the harness targets exist; say so for anything else.
.DEFAULT_GOAL := no-pg-config
.PHONY: no-pg-config
no-pg-config:
	@echo "$(PG_CONFIG) not found: run 'make test' or 'make demo' (they install PostgreSQL 15), or pass PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config" >&2
	@exit 1
endif
