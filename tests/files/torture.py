"""Data chosen to break export writers (issue 4): every Unicode plane, RTL, XML-illegal controls,
text that looks like formulas, numbers, dates or XML, over-long notes, awkward amounts and instants
around DST changes, stored through the ORM factories so that every cell comes from the database.

`build_torture(session)` makes one project per entry of PROJECTS (EUR / JPY / KWD; Europe/Paris and
America/New_York) with a dozen or so orders each: tens of rows in all, so the tests stay fast.
`build_sub_second(session)` makes a small project whose instants are not whole seconds, and
`build_big_ids(session)` one whose order and reward ids are past Excel's 15 significant digits.

The short samples of SAMPLES are spread by rotation over every text column (user, addresses, notes,
tracking, status), each sample landing in many columns, so a writer cannot get a sample right in
one column and wrong in another unnoticed. test_readers.py checks that the data holds what is
promised here.

NUL (U+0000) is stored on SQLite only: PostgreSQL's text types cannot hold it (psycopg refuses the
value before it is sent), so an order with NUL in its note cannot exist in a PostgreSQL database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from crowdexports.models import Address, Project, User
from tests.factories import make_order, make_project, make_reward, make_user

EXCEL_CELL_UNITS = 32_767  # Excel's cell limit, in UTF-16 code units

# Characters from every plane that holds any: one sample each, checked by test_readers.
PLANE_SAMPLES = {
    0: "Ωμέγα Кирилл 中文 日本語 한국어 ไทย देवनागरी ß",  # BMP, CJK included
    1: "😀 👨\u200d👩\u200d👧\u200d👦 👍🏽 🇫🇷🇯🇵 🏳️\u200d🌈",  # emoji, ZWJ sequences, skin tone, flags
    2: "\U00020000 𠮷野家",  # CJK extension B
    3: "\U00030000 \U0003134a",  # CJK extension G
    14: "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f \U000e0001",  # tag characters
    15: "\U000f0000 \U000ffffd",  # supplementary private use area A
    16: "\U00100000 \U0010fffd",  # supplementary private use area B
}
RTL = "\u202bمرحبا بالعالم\u202c \u200fשלום עולם\u200e (12) \u2067abc\u2069 \u202eevil.exe\u202c"
COMBINING = "e\u0301 n\u0303 a\u0308\u0304 Z\u0351\u0352\u0353\u0354 \ufdfd \u0e01\u0e34\u0e4a"
INVISIBLE = "nb\u00a0sp line\u2028sep para\u2029sep bom\ufeffinside zw\u200bsp ideo\u3000sp soft\u00adhy"
C1_AND_DEL = "del\x7f c1\x80\x85\x9f kept"  # legal in XML 1.0: must survive
ILLEGAL = "a\x01b\x02c\x03d\x04e\x05f\x06g\x07h\x08i\x0bj\x0ck\x0el\x0fm\x10n\x11o\x12p\x13q\x14r\x15s" \
          "\x16t\x17u\x18v\x19w\x1ax\x1by\x1cz\x1d\x1e\x1f!\ufffe?\uffff."  # every XML-illegal character
FORMULAS = ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1+1", "\r=1+1", " =1+1", "\x01=1+1", "＝1+1",
            '=HYPERLINK("http://x.test","go")', "'=1+1", "-"]
LOOKS_LIKE_VALUES = ["0012", "1e5", "TRUE", "false", "2026-01-01", "1/2", "12:30", "1,5", "NaN", "-0",
                     "$1.00", "50%", "١٢٣"]
XML_LIKE = ["_x0041_", "_x005F_ alone", "_x000D_ literal", "&amp; &<>\"' ]]> <![CDATA[x]]> <t>x</t>"]
SPACES = ["  leading and trailing  ", " ", "\tTab start", "line1\r\nline2\nline3\rline4", "trailing\n"]
SAMPLES: list[str] = [*PLANE_SAMPLES.values(), RTL, COMBINING, INVISIBLE, C1_AND_DEL, ILLEGAL,
                      "\x01\x02\ufffe", *FORMULAS, *LOOKS_LIKE_VALUES, *XML_LIKE, *SPACES, "Ada Lovelace"]
NUL_SAMPLE = "nul\x00inside"  # SQLite only, see the module docstring

POSTAL_CODES = ["01234", "00000", "0012", "1e5", "=1+1", "-1", "2026-01-01", "1/2", "TRUE", "  0123  ",
                "١٢٣٤٥", "SW1A 1AA", "\t01", "", "75001"]
COUNTRIES = ["FR", "🇫🇷", "JP", "", "=1", "00", "\u200fש", "\x01"]
LANGS = ["en", "fr", "he", "ar", "", "=1", "zh-Hant", "TRUE"]
STATUSES = ["payment-completed", "=1+1", "-1", "@x", " cancelled ", "\trefunded", "refunded 😀"]
PAYMENT_METHODS = ["creditcard", "+1", "paypal\r\n", "", "🇫🇷 cb", "\x01cb", "0012"]
ADDRESS_TYPES = ["personal", "company", "=1", ""]

# Reward texts are i18n HTML: markup removed, entities decoded, picked by language.
REWARD_TITLES = [
    {"en": "Early <b>bird</b> 😀 &amp; co", "fr": "Lève-tôt <i>été</i>", "ar": "مكافأة مبكرة"},
    {"en": "=1+1 <b>formula</b>", "ja": "早割 𠮷"},
    {"fr": "@SUM(A1) seulement en français"},
    {"en": "", "he": "\u200fשלום &lt;3"},
    {"en": "ctrl\x01 &#x1F600; &#65; _x0041_"},
]
REWARD_DESCRIPTIONS = [
    {"en": "<p>Line one &lt;b&gt; 😀</p><p>\u202eRTL override\u202c</p><ul><li>a</li><li>b</li></ul>"},
    {"en": "<script>alert(1)</script><p>-1 minus first</p>", "fr": "<p>+1 d'abord</p>"},
    {"ar": "<p>وصف <b>عربي</b></p>"},
    {"en": "<p>\U00020000 \U00030000 \U000f0000 \U0010fffd</p><br>&nbsp;x"},
    {"en": "plain &amp; simple, no markup at all"},
]

# Minor units: 10 + 20 (0.1 + 0.2 in EUR), 9,999,999,999 (99,999,999.99 EUR), 0, negative, 1.
PRICES = [10, 20, 9_999_999_999, 0, -1_050, 1, 999]


@dataclass(frozen=True)
class Plan:
    """One order: (price index in PRICES, quantity) items; totals add up unless overridden."""

    items: tuple[tuple[int, int], ...] = ()
    shipping: int = 0
    total: int | None = None  # None: subtotal + shipping
    addresses: bool = True


PLANS = [
    Plan(((0, 1), (1, 1))),  # 10 + 20 -> 0.30, never 0.30000000000000004
    Plan(((2, 1),)),  # 99,999,999.99
    Plan(),  # no items
    Plan(((3, 5),), shipping=995),  # a free reward, paid shipping
    Plan(((4, 1),)),  # a negative line (a discount)
    Plan(((0, 3),), total=-30),  # a refund
    Plan(((2, 3), (5, 1)), shipping=1),  # 299,999,999.98 of lines
    Plan(total=500, addresses=False),  # a tip: no items, no address
    Plan(((6, 2), (0, 1), (1, 4))),
    Plan(((5, 1),)),
    Plan(((1, 1),), addresses=False),
    Plan(((3, 1),), total=0),
]


def _utc(zone: str, year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, *,
         fold: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=ZoneInfo(zone), fold=fold).astimezone(UTC)


# UTC instants -> the local wall-clock times the export must show (asserted by test_readers).
INSTANTS = {
    "Europe/Paris": [
        (datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC), "2026-03-29 01:59:59"),  # last second of CET
        (datetime(2026, 3, 29, 1, 0, 0, tzinfo=UTC), "2026-03-29 03:00:00"),  # clocks jump 2:00 -> 3:00
        (datetime(2026, 10, 25, 0, 30, 0, tzinfo=UTC), "2026-10-25 02:30:00"),  # first 2:30 (CEST)
        (datetime(2026, 10, 25, 1, 30, 0, tzinfo=UTC), "2026-10-25 02:30:00"),  # second 2:30 (CET)
        (datetime(2026, 10, 25, 0, 59, 59, tzinfo=UTC), "2026-10-25 02:59:59"),
        (datetime(2026, 10, 25, 1, 0, 0, tzinfo=UTC), "2026-10-25 02:00:00"),  # clocks fall 3:00 -> 2:00
        (datetime(1970, 1, 1, 0, 0, 0, tzinfo=UTC), "1970-01-01 01:00:00"),
        (_utc("Europe/Paris", 1970, 1, 1), "1970-01-01 00:00:00"),  # a whole-day serial
        (_utc("Europe/Paris", 2099, 12, 31, 23, 59, 59), "2099-12-31 23:59:59"),
        (datetime(2099, 12, 31, 0, 0, 0, tzinfo=UTC), "2099-12-31 01:00:00"),
        (datetime(2026, 12, 31, 23, 0, 0, tzinfo=UTC), "2027-01-01 00:00:00"),  # another year locally
        (datetime(2026, 7, 14, 22, 15, 0, tzinfo=UTC), "2026-07-15 00:15:00"),
    ],
    "America/New_York": [
        (datetime(2026, 3, 8, 6, 59, 59, tzinfo=UTC), "2026-03-08 01:59:59"),  # last second of EST
        (datetime(2026, 3, 8, 7, 0, 0, tzinfo=UTC), "2026-03-08 03:00:00"),  # 2:00 -> 3:00
        (datetime(2026, 11, 1, 5, 30, 0, tzinfo=UTC), "2026-11-01 01:30:00"),  # first 1:30 (EDT)
        (datetime(2026, 11, 1, 6, 30, 0, tzinfo=UTC), "2026-11-01 01:30:00"),  # second 1:30 (EST)
        (datetime(2026, 11, 1, 5, 59, 59, tzinfo=UTC), "2026-11-01 01:59:59"),
        (datetime(2026, 11, 1, 6, 0, 0, tzinfo=UTC), "2026-11-01 01:00:00"),  # 2:00 -> 1:00
        (datetime(1970, 1, 1, 0, 0, 0, tzinfo=UTC), "1969-12-31 19:00:00"),  # before the Unix epoch locally
        (_utc("America/New_York", 1970, 1, 1), "1970-01-01 00:00:00"),
        (_utc("America/New_York", 2099, 12, 31, 23, 59, 59), "2099-12-31 23:59:59"),
        (datetime(2099, 12, 31, 0, 0, 0, tzinfo=UTC), "2099-12-30 19:00:00"),
        (datetime(2027, 1, 1, 4, 59, 59, tzinfo=UTC), "2026-12-31 23:59:59"),  # another year in UTC
        (datetime(2026, 7, 15, 3, 59, 59, tzinfo=UTC), "2026-07-14 23:59:59"),
    ],
}


def units(text: str) -> int:
    """Length in UTF-16 code units, as Excel counts."""
    return len(text.encode("utf-16-le")) // 2


def text_of_units(count: int, pattern: str) -> str:
    """`pattern` repeated and cut to exactly `count` UTF-16 units (padded with "x" where an astral
    character would not fit)."""
    out: list[str] = []
    used = 0
    while used < count:
        for ch in pattern:
            width = 2 if ord(ch) > 0xFFFF else 1
            if used + width > count:
                break
            out.append(ch)
            used += width
        else:
            continue
        break
    text = "".join(out)
    return text + "x" * (count - units(text))


# A few astral characters (two UTF-16 units each) per paragraph of a few hundred: LibreOffice lays out
# long runs of them slowly (seconds per cell), and a few suffice for code points and UTF-16 units to
# differ. Short paragraphs, as real notes have: Calc's edit engine splits a multi-line cell's
# paragraphs past 16,367 units (a limit of its text model, not of the file).
_LONG = "Note שלום مرحبا =1+1 é\t" * 12 + "\U0010fffd" + "ünï " * 10 + "😀\r\n"
_LINES = "CR LF\r\nLF\nCR\r"
# Notes around Excel's cell limit; the comment says what the xlsx must do with each.
LONG_NOTES = {
    "exactly the limit": _LINES + text_of_units(EXCEL_CELL_UNITS - units(_LINES), _LONG),  # kept whole
    "one unit over": _LINES + text_of_units(EXCEL_CELL_UNITS + 1 - units(_LINES), _LONG),  # cut, with the marker
    # Cut at 32,767 - 13 units (room for the marker) falls inside 😀's surrogate pair: the half
    # character must go, never become U+FFFD or a lone surrogate.
    "cut inside a pair": "a" * (EXCEL_CELL_UNITS - 14) + "😀" * 100,
    # 32,767 code points (at the limit) but 32,768 UTF-16 units: a writer counting code points keeps it whole.
    "at the limit in code points only": "x" * (EXCEL_CELL_UNITS - 1) + "😀",
    # 5 units over the limit before the illegal characters are removed, exactly at it after: kept whole.
    "at the limit once cleaned": "\x01\x02" + text_of_units(EXCEL_CELL_UNITS, _LONG) + "\x1f\uffff\ufffe",
    "starts with a formula": "=" + "9" * 40_000,
}


@dataclass(frozen=True)
class Spec:
    key: str
    name: str
    currency: str
    timezone: str
    lang: str  # the project's language; the export is read in English


PROJECTS = (
    Spec("EUR", "Bouilloire ☕ «été» 😀 — עברית / العربية", "EUR", "Europe/Paris", "fr"),
    Spec("JPY", "東京ケトル 𠮷 🇯🇵 [draft]: *v2*? 'quoted'", "JPY", "America/New_York", "ja"),
    Spec("KWD", "غلاية الكويت \u200f(3 decimals)\u200e 👨\u200d👩\u200d👧 =1+1", "KWD", "America/New_York", "ar"),
)


def samples(session: Session) -> list[str]:
    """SAMPLES, plus NUL where the database can store it."""
    return SAMPLES + ([NUL_SAMPLE] if session.get_bind().dialect.name == "sqlite" else [])


def _owner(session: Session, key: str) -> User:
    return make_user(session, f"owner {key} 😀", lang="fr")


def build_torture(session: Session) -> list[Project]:
    """One project per PROJECTS entry, every sample placed in every kind of text column."""
    texts = samples(session)
    assert all(len(text) <= 100 for text in texts), "samples must fit the shortest text columns"
    long_notes = list(LONG_NOTES.values())
    note_samples = FORMULAS + [text for text in texts if text not in FORMULAS]
    projects = []
    serial = short_notes = 0
    for number, spec in enumerate(PROJECTS):
        project = make_project(session, _owner(session, spec.key), spec.name, currency=spec.currency,
                               timezone=spec.timezone, lang=spec.lang)
        rewards = []
        for index, price in enumerate(PRICES):
            reward = make_reward(session, project, price=price)
            reward.title = REWARD_TITLES[(index + number) % len(REWARD_TITLES)]
            reward.description = REWARD_DESCRIPTIONS[(index + 2 * number) % len(REWARD_DESCRIPTIONS)]
            rewards.append(reward)
        session.commit()
        instants = [instant for instant, _local in INSTANTS[spec.timezone]]
        for index, plan in enumerate(PLANS):
            serial += 1

            def text(slot: int, *, index: int = index, number: int = number) -> str:
                return texts[(index * 7 + slot + number * 3) % len(texts)]

            backer = make_user(session, f"{text(0)[:60]} #{serial}")
            backer.name = "" if index % 3 == 0 else text(1)  # "" -> first + last name
            backer.first_name, backer.last_name = text(2), text(3)
            backer.email = f"{text(4)[:40]}@例え.jp"
            backer.lang = LANGS[(index + number) % len(LANGS)]
            items = [(rewards[price], quantity) for price, quantity in plan.items]
            order = make_order(session, project, backer, items, created_at=instants[index % len(instants)])
            order.shipping_total = plan.shipping
            order.total = plan.total if plan.total is not None else order.subtotal + plan.shipping
            order.status = STATUSES[(index + number) % len(STATUSES)]
            order.payment_method = PAYMENT_METHODS[(index + 2 * number) % len(PAYMENT_METHODS)]
            order.tracking_source, order.tracking_medium = text(5), text(6)
            # Two long notes in each project (on its 2nd and 5th orders), a sample on the others,
            # formulas first.
            mine = long_notes[number::len(PROJECTS)]
            if index in (1, 4):
                order.note = mine[index // 4]
            else:
                order.note = note_samples[short_notes % len(note_samples)]
                short_notes += 1
            for offset, address_id in enumerate((order.shipping_address_id, order.billing_address_id)):
                address = session.get(Address, address_id)
                assert address is not None
                slot = 7 + 7 * offset
                address.first_name, address.last_name = text(slot), text(slot + 1)
                address.entity_name, address.address_1 = text(slot + 2), text(slot + 3)
                address.address_2, address.city, address.state = text(slot + 4), text(slot + 5), text(slot + 6)
                address.postal_code = POSTAL_CODES[(index + offset + number) % len(POSTAL_CODES)]
                address.country = COUNTRIES[(index + offset + number) % len(COUNTRIES)]
                address.type = ADDRESS_TYPES[(index + offset) % len(ADDRESS_TYPES)]
            if not plan.addresses:
                order.shipping_address_id = order.billing_address_id = None
            session.commit()
        projects.append(project)
    return projects


# Text in which OOXML escapes (`_xHHHH_`) follow one another sharing an underscore: `_x005F_x0041_` is
# two of them. Each underscore that starts one must itself be escaped (`_x005F_`); escaping only the
# first (a non-overlapping search) makes readers decode the second: `_x005F_x0041_` reads `_x005FA`.
CHAINED_ESCAPES = ["_x005F_x0041_", "_x0041_x0042_", "_x0041__x0042_", "_x005f_x0041_", "a_x0030_x0031_x0032_b",
                   "_x000D_x000A_"]


def build_escapes(session: Session) -> Project:
    project = make_project(session, _owner(session, "escapes"), "_x0041_x0042_ escapes", currency="EUR",
                           timezone="Europe/Paris")
    reward = make_reward(session, project, price=100)
    for number, text in enumerate(CHAINED_ESCAPES):
        backer = make_user(session, f"{text} #{number}")
        backer.name = text
        order = make_order(session, project, backer, [(reward, 1)], note=text, postal_code=text,
                           created_at=datetime(2026, 2, 1, 12, number, tzinfo=UTC))
        order.tracking_source = text
        session.commit()
    return project


# Instants that are not whole seconds: every reader must show the second the csv shows (the
# second the order was placed in), never one rounded up into the next second, day or year.
SUB_SECOND_INSTANTS = [  # in order
    (datetime(2026, 1, 1, 0, 0, 0, 1, tzinfo=UTC), "2026-01-01 01:00:00"),
    (datetime(2026, 3, 29, 0, 59, 59, 999_500, tzinfo=UTC), "2026-03-29 01:59:59"),  # before the DST jump
    (datetime(2026, 6, 30, 21, 59, 59, 500_000, tzinfo=UTC), "2026-06-30 23:59:59"),  # the last half second of June
    (datetime(2026, 12, 31, 22, 59, 59, 999_999, tzinfo=UTC), "2026-12-31 23:59:59"),  # Paris: New Year's Eve
]


def build_sub_second(session: Session) -> Project:
    project = make_project(session, _owner(session, "sub-second"), "Minuit", currency="EUR",
                           timezone="Europe/Paris")
    reward = make_reward(session, project, price=1999)
    for instant, _local in SUB_SECOND_INSTANTS:
        make_order(session, project, make_user(session), [(reward, 1)], created_at=instant)
    return project


# Ids around Excel's 15 significant digits: a number cell of more digits shows another id. Small ids
# (given by the database) stay numbers; the 15-digit maximum too; from 16 digits on, text of the digits.
BIG_ORDER_IDS = [999_999_999_999_999, 1_000_000_000_000_000, 1_234_567_890_123_456_789]
BIG_REWARD_ID = 9_223_372_036_854_775_807  # the largest 64-bit id, as a platform may send through the sync API


def build_big_ids(session: Session) -> Project:
    """Call it after every other builder of its database: an id at the 64-bit maximum leaves SQLite no
    next id in order (it then picks one at random)."""
    project = make_project(session, _owner(session, "big ids"), "Big ids", currency="EUR", timezone="Europe/Paris")
    small = make_reward(session, project, price=1250)  # the database's own id: a number cell
    big = make_reward(session, project, price=990, reward_id=BIG_REWARD_ID)
    make_order(session, project, make_user(session), [(small, 3)], created_at=datetime(2026, 5, 1, 9, tzinfo=UTC))
    for minute, order_id in enumerate(BIG_ORDER_IDS):
        make_order(session, project, make_user(session), [(big, 2), (small, 1)], order_id=order_id,
                   created_at=datetime(2026, 5, 1, 10, minute, tzinfo=UTC))
    return project
