"""Every input field's rule, declared once: what the sync bodies, the order import lines, the accounts
made here and the export requests accept, and what the API documents for them (api/schemas.py).

`kinds` is the vocabulary (a text, an id, an amount...), `reader` applies rules to a decoded JSON
object collecting every problem, and one module per resource declares its fields: `users`,
`projects`, `rewards`, `orders` (a line of the order import), `exports` (an export request) and
`api_keys`. Lengths are read from the models' columns, so a column and its rule cannot drift apart.
"""
