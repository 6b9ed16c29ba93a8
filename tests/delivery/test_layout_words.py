"""The ready email and the page say an export's row layout in one sentence (exports.layout_words)."""

from __future__ import annotations

import email
import email.policy

import pytest

from crowdexports.exports.layout_words import describe_layout

from .messages import succeeded_message


def _texts(layout: str | None, lang: str) -> tuple[str, str]:
    parsed = email.message_from_bytes(succeeded_message(layout=layout, lang=lang).as_bytes(),
                                      policy=email.policy.default)
    text, html_part = parsed.get_body(("plain",)), parsed.get_body(("html",))
    assert text is not None and html_part is not None
    return text.get_content(), html_part.get_content()


@pytest.mark.parametrize(("lang", "label", "words"), [
    ("en", "Rows:", "an order's total, subtotal and shipping are on its first row only"),
    ("fr", "Lignes :", "sont sur sa première ligne seulement"),
])
def test_the_ready_email_says_the_layout(lang: str, label: str, words: str) -> None:
    text, html_part = _texts("items", lang)
    assert f"{label} {describe_layout('items', lang)}" in text and words in text
    assert label in html_part
    assert label not in _texts(None, lang)[0]  # nothing said when the caller has none


def test_every_layout_has_a_sentence_in_each_language() -> None:
    for lang in ("en", "fr"):
        sentences = {describe_layout(layout, lang) for layout in ("items", "orders", "items_repeated")}
        assert len(sentences) == 3 and "" not in sentences
    assert describe_layout("orders", "de") == describe_layout("orders", "en")
    assert "counts an order once per reward" in describe_layout("items_repeated", "en")
