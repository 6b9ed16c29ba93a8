"""A project's orders imported as Ulule order resources, one JSON object per line (SPEC §7): the
rules of both `POST /v1/projects/{id}/orders/import` and `crowdexports import orders`.

- `line`: one line read into a plain `OrderLine` by the fields' rules (crowdexports.rules.orders), with
  no database;
- `importer`: `import_orders` runs a whole import in one transaction, committed only if every line is
  good; its `OrderImport` gathers lines into batches, each checked (`checks`, from what `reads` gets
  of the rows already there) and written (`writes`, new addresses taking ids from `address_ids`);
- `outcome`: what an import did, or why it was refused.

Lines apply in order: a later line for the same order (or the same embedded user) replaces what an
earlier one wrote, exactly as two imports would.

Speed is the design's constraint (a million lines from the CLI). Lines are read by field tables
rather than an object per field, amounts' conversions are remembered, and rows are written in bulk
(executemany on SQLite, COPY on PostgreSQL: `bulk.BulkInsert`) after a few SELECTs per batch. The
ORM's per-row work would cap an import at about a thousand lines a second; that is also why an
embedded user is written here, by the rules of `records.upsert_user` (rules.users) but not by it
(measured: 1,070 users/s). An unchanged row is not written at all, so importing the same lines again changes nothing,
item and address ids included.
"""
