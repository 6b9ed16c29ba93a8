"""The orders export (SPEC §3): one row per order item; an order without items is one row whose
reward cells are empty. Rows come from one SELECT, ordered by created_at, order id, item id, streamed
as DBAPI rows (exports/database_rows.py); the export's layout (order_layouts) then decides which of an
order's amounts each row carries, or merges an order's rows into one.

`order.reward.price` is the item's `unit_price` (what the backer paid), not the reward's current
price, so price × quantity = total holds even after a price change. Reward titles and descriptions
are read once per reward (a small lookup beside the stream), not once per row: converting i18n
HTML to text per row would dominate the export's time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from operator import itemgetter
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from crowdexports.errors import FieldProblem, InvalidInput
from crowdexports.exports import changes_since
from crowdexports.exports.changes_since import ChangesSince
from crowdexports.exports.database_rows import stream_rows
from crowdexports.exports.options import check_mapping
from crowdexports.exports.status_words import status_cell
from crowdexports.exports.summary import Totals
from crowdexports.exports.types import order_layouts
from crowdexports.exports.types.base import Column, ColumnKind, ExportContext, OutputColumn
from crowdexports.exports.types.order_filters import NO_FILTERS, OrderFilters, parse_filters
from crowdexports.exports.types.order_layouts import Layout
from crowdexports.models import Address, Order, OrderItem, Reward, User, UTCDateTime
from crowdexports.money import decimal_converter
from crowdexports.rules.users import display_name

# Core aliases, whose columns exist from import on. An ORM `aliased()` adapts its attributes lazily on
# first use, and two export threads of one worker racing on that first use got the plain `addresses`
# column instead: a cartesian product, every row repeated once per address (seen in the fleet test).
_shipping = Address.__table__.alias("shipping_address")
_billing = Address.__table__.alias("billing_address")

# Every SQL value the catalogue may need, by name; a query selects only those its columns use.
_SQL: dict[str, Any] = {
    "order.id": Order.id, "order.created_at": Order.created_at, "order.status": Order.status,
    "order.payment_method": Order.payment_method, "order.total": Order.total,
    "order.subtotal": Order.subtotal, "order.shipping_total": Order.shipping_total,
    "order.note": Order.note, "order.tracking_source": Order.tracking_source,
    "order.tracking_medium": Order.tracking_medium,
    "user.username": User.username, "user.lang": User.lang, "user.email": User.email,
    "user.name": User.name, "user.first_name": User.first_name, "user.last_name": User.last_name,
    "item.id": OrderItem.id, "item.reward_id": OrderItem.reward_id, "item.quantity": OrderItem.quantity,
    "item.unit_price": OrderItem.unit_price, "item.line_total": OrderItem.line_total,
    **{f"shipping_address.{name}": _shipping.c[name]
       for name in ("first_name", "last_name", "entity_name", "address_1", "address_2", "postal_code",
                    "city", "state", "country")},
    **{f"billing_address.{name}": _billing.c[name]
       for name in ("first_name", "last_name", "entity_name", "type", "address_1", "address_2",
                    "postal_code", "city", "state", "country")},
}

# The values the control totals read (exports.summary), selected beside the columns' own when they lack them.
_TOTALS_SOURCES = ("order.id", "order.status", "order.total", "item.id")

Converter = Callable[..., object]
_UTC = ZoneInfo("UTC")


class _RewardTexts(dict[int | None, tuple[str | None, str | None]]):
    """reward id -> (title, description) as plain text in the reader's language.

    Filled with the project's rewards up front; a reward of another project (inconsistent data)
    is read on first sight. `None` (an order without items) maps to empty cells.
    """

    def __init__(self, session: Session, context: ExportContext) -> None:
        super().__init__({None: (None, None)})
        self._session = session
        self._langs = (context.lang, context.project_lang)
        self._add(Reward.project_id == context.project_id)

    def __missing__(self, reward_id: int | None) -> tuple[str | None, str | None]:
        self._add(Reward.id == reward_id)
        return self.setdefault(reward_id, (None, None))

    def _add(self, condition: ColumnElement[bool]) -> None:
        query = select(Reward.id, Reward.title, Reward.description).where(condition)
        for reward_id, title, description in self._session.execute(query):
            self[reward_id] = (html_to_text(pick_language(title, self._langs)),
                               html_to_text(pick_language(description, self._langs)))


def pick_language(i18n: Mapping[str, str] | None, langs: Sequence[str]) -> str:
    """The first non-empty text among `langs`, else any non-empty one (SPEC §7), else ""."""
    if not i18n:
        return ""
    for lang in langs:
        if i18n.get(lang):
            return i18n[lang]
    return next((text for text in i18n.values() if text), "")


class _TextExtractor(HTMLParser):
    _BREAKS = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
                         "ul", "ol", "table", "section", "article", "header", "footer", "pre", "hr"})
    _HIDDEN = frozenset({"script", "style", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)  # entities arrive unescaped in handle_data
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self._hidden += 1
        elif tag in self._BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in self._BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Tags stripped, entities unescaped, blocks on their own lines, runs of spaces collapsed."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


MakeConverter = Callable[[ExportContext, _RewardTexts], Converter]


def _money(context: ExportContext, _texts: _RewardTexts) -> Converter:
    return decimal_converter(context.currency)


def _local_time(context: ExportContext, _texts: _RewardTexts) -> Converter:
    zone, from_driver = context.timezone, UTCDateTime.from_driver
    return lambda stored: from_driver(stored).astimezone(zone).replace(tzinfo=None)


def _full_name(_context: ExportContext, _texts: _RewardTexts) -> Converter:
    return display_name


def _reward_title(_context: ExportContext, texts: _RewardTexts) -> Converter:
    return lambda reward_id: texts[reward_id][0]


def _reward_description(_context: ExportContext, texts: _RewardTexts) -> Converter:
    return lambda reward_id: texts[reward_id][1]


def _status_word(context: ExportContext, _texts: _RewardTexts) -> Converter:
    return status_cell(context.lang)


def _currency(context: ExportContext, _texts: _RewardTexts) -> Converter:
    code = context.currency
    return lambda: code


@dataclass(frozen=True)
class _Field:
    column: Column
    sources: tuple[str, ...]  # keys of _SQL, passed in this order to `make`'s converter
    make: MakeConverter | None = None  # None: the single source's value as it is


def _field(column_id: str, kind: ColumnKind, en: str, fr: str, *sources: str,
           make: MakeConverter | None = None) -> _Field:
    return _Field(Column(column_id, kind, {"en": en, "fr": fr}), sources or (column_id,), make)


def _address_fields(prefix: str, en: str, fr: str) -> list[_Field]:
    names = [("first_name", "first name", "Prénom"), ("last_name", "last name", "Nom"),
             ("entity_name", "organisation", "Organisation")]
    if prefix == "billing_address":
        names.append(("type", "type", "Type"))
    names += [("address_1", "address 1", "Adresse 1"), ("address_2", "address 2", "Adresse 2"),
              ("postal_code", "postal code", "Code postal"), ("city", "city", "Ville"),
              ("state", "state", "Région"), ("country", "country", "Pays")]
    return [_field(f"{prefix}.{name}", ColumnKind.IDENTIFIER if name == "postal_code" else ColumnKind.TEXT,
                   f"{en} {label_en}", f"{label_fr} ({fr})")
            for name, label_en, label_fr in names]


_T, _M = ColumnKind.TEXT, ColumnKind.MONEY
_FIELDS: list[_Field] = [
    _field("order.id", ColumnKind.INTEGER, "Order ID", "N° de commande"),
    _field("user.username", _T, "Username", "Nom d'utilisateur"),
    _field("user.lang", _T, "Language", "Langue"),
    _field("user.full_name", _T, "Full name", "Nom complet", "user.name", "user.first_name",
           "user.last_name", make=_full_name),
    _field("user.email", _T, "Email", "E-mail"),
    *_address_fields("shipping_address", "Shipping", "livraison"),
    *_address_fields("billing_address", "Billing", "facturation"),
    _field("order.reward.id", ColumnKind.INTEGER, "Reward ID", "N° de contrepartie", "item.reward_id"),
    _field("order.reward.description", _T, "Reward description", "Description de la contrepartie",
           "item.reward_id", make=_reward_description),
    _field("order.reward.price", _M, "Reward price", "Prix de la contrepartie", "item.unit_price",
           make=_money),
    _field("order.reward.quantity", ColumnKind.INTEGER, "Quantity", "Quantité", "item.quantity"),
    _field("order.reward.total", _M, "Reward total", "Total de la contrepartie", "item.line_total",
           make=_money),
    _field("order.total", _M, "Order total", "Total de la commande", make=_money),
    _field("order.tracking.source", _T, "Tracking source", "Source (suivi)", "order.tracking_source"),
    _field("order.tracking.medium", _T, "Tracking medium", "Support (suivi)", "order.tracking_medium"),
    _field("order.payment_method", _T, "Payment method", "Moyen de paiement"),
    _field("order.status", _T, "Order status", "Statut de la commande", make=_status_word),
    _field("order.created_at", ColumnKind.DATETIME, "Order date", "Date de commande", make=_local_time),
    _field("order.note", _T, "Note", "Note"),
    # Bookkeeping extras, after the 36 columns of SPEC §3.
    _field("order.reward.title", _T, "Reward title", "Titre de la contrepartie", "item.reward_id",
           make=_reward_title),
    _field("order.subtotal", _M, "Order subtotal", "Sous-total de la commande", make=_money),
    _field("order.shipping_total", _M, "Shipping total", "Frais de livraison", make=_money),
    _Field(Column("order.currency", _T, {"en": "Currency", "fr": "Devise"}), (), _currency),
    # The platform's code beside the words: the same in every language, for formulas and filters.
    _field("order.status_code", _T, "Order status code", "Code du statut de la commande", "order.status"),
]


def _converted(field: _Field, make: MakeConverter, slot: Mapping[str, int], context: ExportContext,
               texts: _RewardTexts) -> tuple[int | None, Callable[..., object]]:
    """How to compute a converted cell, decided once per export rather than once per row: (the result
    position its converter takes, converter), or (None, a converter taking the whole result row)."""
    slots = [slot[name] for name in field.sources]
    convert = make(context, texts)
    if len(slots) == 1:
        return slots[0], convert
    if not slots:
        return None, lambda _row: convert()
    pick = itemgetter(*slots)
    return None, lambda row: convert(*pick(row))


def _copier(indexes: Sequence[int]) -> Callable[[Any], list[object]]:
    """Copies these positions of a row into a new list (itemgetter gives a scalar for one index)."""
    if len(indexes) == 1:
        index = indexes[0]
        return lambda row: [row[index]]
    pick = itemgetter(*indexes)
    return lambda row: list(pick(row))


@dataclass(frozen=True)
class OrdersOptions:
    """The orders export's options: its filters (order_filters), the export it holds the changes
    since (exports.changes_since; None: every order) and its row layout (order_layouts)."""

    filters: OrderFilters = NO_FILTERS
    changes_since: ChangesSince | None = None
    layout: Layout = order_layouts.DEFAULT

    def to_json(self) -> dict[str, Any]:
        """Without `changes_since` when there is none: the form of the rows stored before it existed."""
        since = {} if self.changes_since is None else {changes_since.NAME: self.changes_since.to_json()}
        return {"filters": self.filters.to_json(), **since, order_layouts.NAME: self.layout.value}


def _filters_of(options: object) -> OrderFilters:
    """The filters of an export's parsed type options (none for a type without them)."""
    return options.filters if isinstance(options, OrdersOptions) else NO_FILTERS


def _layout_of(options: object) -> Layout:
    """The layout of an export's parsed type options (the default for a context made without them)."""
    return options.layout if isinstance(options, OrdersOptions) else order_layouts.DEFAULT


def _changes_of(context: ExportContext) -> tuple[int | None, int | None]:
    """The (after, up to] range of change numbers `context`'s export holds (None: no bound)."""
    since = context.options.changes_since if isinstance(context.options, OrdersOptions) else None
    return (None if since is None else since.after), context.changes_upto


def conditions(project_id: int, filters: OrderFilters, zone: ZoneInfo,
               changes: tuple[int | None, int | None] = (None, None)) -> list[ColumnElement[bool]]:
    """The WHERE of an export's SELECT and of its count. The created range keeps the query on
    ix_orders_project_created (project_id, created_at, id), whichever the other filters. `changes`:
    the (after, up to] range of orders.change_seq (sync.changes)."""
    where: list[ColumnElement[bool]] = [Order.project_id == project_id]
    after, upto = changes
    if after is not None:
        where.append(Order.change_seq > after)
    if upto is not None:
        where.append(Order.change_seq <= upto)
    start, stop = filters.created_range(zone)
    if start is not None:
        where.append(Order.created_at >= start)
    if stop is not None:
        where.append(Order.created_at < stop)
    if filters.status:
        where.append(Order.status.in_(filters.status))
    if filters.reward_ids:
        where.append(OrderItem.reward_id.in_(filters.reward_ids))
    if filters.country:
        where.append(_shipping.c.country.in_(filters.country))
    if filters.has_shipping_address is not None:
        where.append(Order.shipping_address_id.is_not(None) if filters.has_shipping_address
                     else Order.shipping_address_id.is_(None))
    return where


class OrdersExport:
    identifier = "orders"
    catalogue: Sequence[Column] = tuple(field.column for field in _FIELDS)
    _fields = {field.column.id: field for field in _FIELDS}

    def parse_options(self, raw: object) -> OrdersOptions:
        """Orders' options are `filters`, `changes_since` and `layout`; their problems are named from each on.
        A stored export without `layout` was made before layouts: order_layouts.STORED_BEFORE."""
        options = check_mapping(raw, ("filters", changes_since.NAME, order_layouts.NAME))
        parsers: dict[str, Callable[[Any], Any]] = {
            "filters": parse_filters, changes_since.NAME: changes_since.parse_stored,
            order_layouts.NAME: order_layouts.parse_layout}
        parsed: dict[str, Any] = {}
        problems: list[FieldProblem] = []
        for name, parse in parsers.items():  # every option's problems at once
            try:
                parsed[name] = parse(options.get(name))
            except InvalidInput as exc:
                problems += exc.problems
        if problems:
            raise InvalidInput(problems)
        return OrdersOptions(parsed["filters"], parsed[changes_since.NAME], parsed[order_layouts.NAME])

    def estimate_rows(self, session: Session, context: ExportContext) -> int:
        """Exact row count (items, plus one per itemless order; orders in the `orders` layout), filters
        applied: two index lookups per order."""
        one_per_order = _layout_of(context.options) is Layout.ORDERS
        counted = func.count(func.distinct(Order.id)) if one_per_order else func.count()
        query = (select(counted).select_from(Order)
                 .outerjoin(_shipping, _shipping.c.id == Order.shipping_address_id)
                 .outerjoin(OrderItem, OrderItem.order_id == Order.id)
                 .where(*conditions(context.project_id, _filters_of(context.options), context.timezone,
                                    _changes_of(context))))
        return int(session.execute(query).scalar_one())

    def sources(self, columns: Sequence[OutputColumn]) -> list[str]:
        """The SQL values (keys of the select's columns, in order) that `columns` need."""
        return list(dict.fromkeys(name for c in columns for name in self._fields[c.id].sources))

    def statement(self, project_id: int, sources: Sequence[str], filters: OrderFilters = NO_FILTERS,
                  zone: ZoneInfo = _UTC, changes: tuple[int | None, int | None] = (None, None)) -> Select[Any]:
        """The one streamed SELECT behind `rows` (public so benchmarks can time the query alone)."""
        return (select(*[_SQL[name] for name in sources] or [Order.id])
                .select_from(Order)
                .join(User, User.id == Order.user_id)
                .outerjoin(_shipping, _shipping.c.id == Order.shipping_address_id)
                .outerjoin(_billing, _billing.c.id == Order.billing_address_id)
                .outerjoin(OrderItem, OrderItem.order_id == Order.id)
                .where(*conditions(project_id, filters, zone, changes))
                .order_by(Order.created_at, Order.id, OrderItem.id))

    def rows(self, session: Session, context: ExportContext,
             totals: Totals | None = None) -> Iterator[tuple[object, ...]]:
        layout = order_layouts.transform(_layout_of(context.options), context.columns)
        # Appended, so the columns' positions stay as they are: the order id a layout compares rows on (the
        # copy appends it to the cells), the values the totals count.
        extra = ([] if layout is None else ["order.id"]) + ([] if totals is None else list(_TOTALS_SOURCES))
        sources = list(dict.fromkeys([*self.sources(context.columns), *extra]))
        slot = {name: index for index, name in enumerate(sources)}
        texts = _RewardTexts(session, context)
        fields = [self._fields[c.id] for c in context.columns]
        # Most cells are a result value as it is: one C-level itemgetter copies them all (a converted
        # or constant column copies a placeholder), then the few converted cells are computed.
        copy = _copier([slot[field.sources[0]] if field.sources else 0 for field in fields]
                       + ([] if layout is None else [slot["order.id"]]))
        converted = [(index, *_converted(field, field.make, slot, context, texts))
                     for index, field in enumerate(fields) if field.make is not None]
        # Most converters take one value: one call per cell, no wrapper.
        from_value = [(index, source, convert) for index, source, convert in converted if source is not None]
        from_row = [(index, convert) for index, source, convert in converted if source is None]
        stmt = self.statement(context.project_id, sources, _filters_of(context.options), context.timezone,
                              _changes_of(context))
        # The totals' per-row work, inline (no call): a comparison of order ids, a test of the item id; the
        # per-order work (exports.summary) only when the order id changes: an order's rows are contiguous.
        order_at, status_at, total_at, item_at = (slot.get(name, 0) for name in _TOTALS_SOURCES)

        def cells() -> Iterator[list[object]]:
            last_order: object = object()  # equal to no order id
            counts: list[int] = []  # the current order's status's counters
            for row in stream_rows(session, stmt):
                if totals is not None:
                    if row[order_at] != last_order:
                        last_order = row[order_at]
                        counts = totals.order(row[status_at], row[total_at])
                    if row[item_at] is not None:
                        counts[1] += 1
                values = copy(row)
                for index, source, convert in from_value:
                    values[index] = convert(row[source])
                for index, convert in from_row:
                    values[index] = convert(row)
                yield values

        yield from map(tuple, cells()) if layout is None else layout(cells())


ORDERS = OrdersExport()
