"""A batch of order lines checked against the rows already there: usernames held by other users, orders
and rewards of other projects, unknown rewards and users. What `line` cannot know without the database."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from crowdexports.errors import FieldProblem
from crowdexports.models import UTCDateTime
from crowdexports.sync.orders.line import OrderLine, Profile
from crowdexports.sync.orders.reads import (
    SELECT_HOLDERS,
    SELECT_ORDERS,
    SELECT_REWARDS,
    SELECT_USER_IDS,
    SELECT_USERS,
    Reads,
    StoredOrder,
)

StoredUser = tuple[Profile, bool]  # the profile, and whether the user is staff


class Checked(NamedTuple):
    """The good lines; each bad line's problems, in line order; the rows there already of the lines'
    orders and embedded users, by id (what the writes compare the lines with)."""

    good: list[OrderLine]
    problems: list[list[FieldProblem]]
    orders: dict[int, StoredOrder]
    users: dict[int, StoredUser]


def check_batch(reads: Reads, lines: list[OrderLine], project_id: int, rewards: set[int]) -> Checked:
    """`lines` of an import into `project_id`, whose rewards are `rewards`."""
    problems: dict[int, list[FieldProblem]] = {}

    def problem(line: OrderLine, names: Sequence[str], message: str) -> None:
        problems.setdefault(line.number, []).append(FieldProblem([f"line {line.number}", *names], message))

    users = {user_id: (tuple(profile), is_staff) for user_id, *profile, is_staff in reads.select(
        SELECT_USERS, {line.user[0] for line in lines if line.user})}
    holders = dict(reads.select(SELECT_HOLDERS, {line.user[1][0] for line in lines if line.user}))
    for line in lines:
        if line.user:
            user_id, username = line.user[0], line.user[1][0]
            holder = holders.setdefault(username, user_id)  # or the first line of the batch to claim it
            if holder != user_id:
                problem(line, ["user", "username"], f"is already the username of user {holder}")
    orders = {order_id: StoredOrder(stored_project, (user_id, UTCDateTime.from_driver(created_at), *rest), shipping,
                                    billing)
              for order_id, stored_project, user_id, created_at, *rest, shipping, billing
              in reads.select(SELECT_ORDERS, {line.id for line in lines})}
    for line in lines:
        stored = orders.get(line.id)
        if stored is not None and stored.project_id != project_id:
            problem(line, ["id"], f"is order {line.id} of project {stored.project_id}, not of this project")
    unknown = {item[0] for line in lines for item in line.items} - rewards
    elsewhere = dict(reads.select(SELECT_REWARDS, unknown))
    for line in lines:
        for index, item in enumerate(line.items):
            if item[0] in elsewhere:
                problem(line, ["items", str(index), "reward_id"],
                        f"is reward {item[0]} of project {elsewhere[item[0]]}, not of this project")
            elif item[0] in unknown:
                problem(line, ["items", str(index), "reward_id"],
                        f"no reward {item[0]}: sync it with PUT /v1/rewards/{item[0]} first")
    # A user_id must name a user that exists, or one embedded by a good line of this batch.
    embedded = {line.user[0] for line in lines if line.user and line.number not in problems}
    named = {line.values[0] for line in lines if not line.user} - embedded
    existing = {user_id for user_id, in reads.select(SELECT_USER_IDS, named)}
    for line in lines:
        if not line.user and line.values[0] not in embedded | existing:
            problem(line, ["user_id"], f"no user {line.values[0]}: embed the user object, or sync the user first")
    return Checked([line for line in lines if line.number not in problems],
                   [problems[line.number] for line in lines if line.number in problems], orders, users)
