"""A user's fields: `PUT /v1/users/{id}` and `crowdexports import users` (USER), the user embedded in an
imported order (PROFILE), and the users made here (`auth.accounts.create_user`)."""

from __future__ import annotations

from crowdexports.models import User
from crowdexports.rules.kinds import SECRET, Body, Flag, Text, column_length, language

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
_USERNAME_LENGTH = column_length(User, "username")

# Printable, since it goes into HTTP headers; a colon would make `ApiKey user:key` and HTTP Basic
# `user:password` ambiguous (RFC 7617 §2).
USERNAME = Text("username", _USERNAME_LENGTH, required=True, pattern="^[^:]+$", check=str.isprintable,
                rule=f"must be 1 to {_USERNAME_LENGTH} printable characters, without ':'")
EMAIL = Text.column(User, "email", required=True, pattern=EMAIL_PATTERN, rule="must be an email address")
FIRST_NAME = Text.column(User, "first_name")
LAST_NAME = Text.column(User, "last_name")
NAME = Text.column(User, "name")  # display_name when empty
LANG = language(User)
IS_STAFF = Flag("is_staff")
IS_ACTIVE = Flag("is_active", default=True)
# Write-only; argon2 hashes any length, and the cap stops multi-megabyte "passwords".
PASSWORD = Text("password", 1024, SECRET, check=bool, rule="must not be empty")

# What a user's profile is, in this order (the order import's rows): what an order's embedded user sets.
PROFILE = (USERNAME, EMAIL, FIRST_NAME, LAST_NAME, NAME, LANG)
# `id` is the URL's (or the line's); `has_password` follows from `password`.
USER = Body((*PROFILE, IS_STAFF, IS_ACTIVE, PASSWORD), read_only=("id", "has_password"))


def display_name(name: str, first_name: str, last_name: str) -> str:
    """The name a user is shown by (emails, the export's full name): `name`, or else first and last name."""
    return name or f"{first_name} {last_name}".strip()
