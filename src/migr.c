/*-------------------------------------------------------------------------
 *
 * migr.c
 *		Module entry point of the migr extension.
 *
 * migr stores schema migrations in catalog tables and runs them inside the
 * server; see migr.h for how the code is divided.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"

PG_MODULE_MAGIC;
