"""xlsx written as a stream: each sheet's XML goes straight into the zip, no cell objects, fast deflate.

Why not a library: XlsxWriter (constant_memory) spends about four times as long per row as this
package, measured by `make bench`; tests/files/reference_xlsx.py keeps it as the reference, and tests
prove this writer's files read back the same in openpyxl, python-calamine and LibreOffice.

Cells: INTEGER and MONEY are number cells (money with a format showing the currency's decimals and
code), but an integer of more than 15 digits (|n| >= EXACT_INTEGER_LIMIT) is an inline string of its
digits: Excel keeps 15 significant digits, so a 19-digit id would change. DATETIME are date cells (to
the second, as the csv), TEXT and IDENTIFIER are always inline string cells, so a postal code keeps
its leading zeros and `=1+1` can never become a formula: xlsx keeps the exact text, without the csv's
`'` prefix. None and empty text are empty cells.

Excel's limits are handled, never silently: text over 32,767 UTF-16 units is cut and ends with
TRUNCATION_MARKER; characters XML cannot hold are dropped (`writers.cells.clean_text`); past
`rows_per_sheet` data rows, or before a sheet's XML would need Zip64 (4 GiB), the file continues on a
new sheet with the same header. The header row is bold, frozen and filtered; columns are sized from
the first rows.

The modules, one job each:
- `writer`: `XlsxWriter`, the format's RowWriter: sizes the columns from the first rows, then packages;
- `package`: the zip: its parts in their order, the sheets split at the limits, deflate in a thread;
- `renderer`: the rows' sheet XML, by a function generated once per export from the column kinds;
- `templates`: the XML of each part of the package, filled from plain values;
- `cells`: one value as cell text: Excel's cell limit, its escapes, number formats, column letters.
"""
