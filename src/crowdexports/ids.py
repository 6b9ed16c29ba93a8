"""Whose an id is: the platform's (synced, SPEC §7) or this service's own (a row made here).

Users, projects, rewards and orders are synced under the platform's ids, which the platform chooses.
Rows made here (`users create`, `projects create`, `demo`, `orders seed`) take their ids from a range
the sync refuses: a synced id never lands on a local row (it would replace it), and a local row never
takes an id the platform may send later (docs/decisions.md "Sync"). The range is the top of the 15-digit
numbers: above the sequential ids of any platform, below 64-bit "snowflake" ids (over 10^17), and every
id in it is exact as a spreadsheet number (15 digits) and as a JavaScript number (below 2^53).
`next_local_id` is the one place such ids are handed out.
"""

from __future__ import annotations

from sqlalchemy import Table, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from crowdexports.models import Base

LOCAL_START = 900_000_000_000_000
LOCAL_END = 999_999_999_999_999
LOCAL_RANGE = f"{LOCAL_START:,} to {LOCAL_END:,}"
MAX_ID = 2**63 - 1  # the largest id a BIGINT holds: larger ones cannot exist


def is_local(row_id: int) -> bool:
    return LOCAL_START <= row_id <= LOCAL_END


def refusal(kind: str, row_id: int) -> str:
    """Why the sync does not take `row_id` for a `kind` ("user", "order"...)."""
    return (f"{kind} {row_id} is in the range of ids of rows made by this service ({LOCAL_RANGE}), never "
            "the platform's: a sync cannot create or replace it; the platform's ids are outside that range")


def next_local_id(connection: Session | Connection, model: type[Base]) -> int:
    """The first free local id of `table`, the ids after it free as well: the highest local id + 1 (10^14
    of them). Rows made here are an operator's doing (the CLI); two made at once may collide on the
    primary key, which refuses the second."""
    table: Table = model.__table__
    highest = connection.execute(select(func.max(table.c.id)).where(table.c.id.between(LOCAL_START, LOCAL_END))
                                 ).scalar()
    return LOCAL_START if highest is None else int(highest) + 1
