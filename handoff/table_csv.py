"""One table of analytics/tables.py as CSV, the same rows `make report` prints.

Text cells that a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage return) get
a leading apostrophe: reasons and template names come from other systems, and the file is opened by people.
"""

import csv
import io
from typing import Any

from analytics.tables import Table

_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return value


def table_csv(table: Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180
    writer.writerow([_cell(name) for name in table.header])
    writer.writerows([[_cell(value) for value in row] for row in table.rows])
    return out.getvalue()
