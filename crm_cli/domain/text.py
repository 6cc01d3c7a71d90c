"""Text rules for search: one tokenizer shared by both databases.

Both SQLite (FTS5) and PostgreSQL (tsvector) index the same pre-tokenised document built
here, and queries go through the same function, so the same query finds the same records on
either database.

Chinese, Japanese and Korean text has no spaces between words, and names are often two
characters long (张伟). A run of such characters is indexed as its single characters and its
overlapping pairs, so a two-character query matches the pair, a one-character query the
character, and a longer query all of its pairs. Latin text is lower-cased and stripped of
accents, so "jose" finds "José".
"""

from __future__ import annotations

import re
import unicodedata

# Japanese voicing marks: combining marks that change the letter, not decorate it.
_KEEP_MARKS = {"\u3099", "\u309a"}


def _words(text: str) -> list[str]:
    """Runs of letters, digits and (spacing) marks. `\\w` would split words at combining
    marks: Devanagari vowel signs, for example."""
    words: list[str] = []
    current: list[str] = []
    for ch in text:
        if unicodedata.category(ch)[0] in "LNM":
            current.append(ch)
        elif current:
            words.append("".join(current))
            current = []
    if current:
        words.append("".join(current))
    return words


def _is_cjk(ch: str) -> bool:
    code = ord(ch)
    return (
        0x3040 <= code <= 0x30FF  # Hiragana, Katakana
        or 0x3400 <= code <= 0x4DBF  # CJK Extension A
        or 0x4E00 <= code <= 0x9FFF  # CJK Unified Ideographs
        or 0xAC00 <= code <= 0xD7AF  # Hangul syllables
        or 0x1100 <= code <= 0x11FF  # Hangul Jamo
        or 0x3130 <= code <= 0x318F  # Hangul compatibility Jamo
        or 0xF900 <= code <= 0xFAFF  # CJK compatibility ideographs
        or 0x20000 <= code <= 0x2FA1F  # Extensions B onwards
        or 0x31F0 <= code <= 0x31FF  # Katakana phonetic extensions
        or 0xFF66 <= code <= 0xFF9D  # half-width Katakana
    )


def fold(text: str) -> str:
    """Lower-case and remove diacritics (accents, Arabic and Hebrew vowel points), keeping
    CJK text intact.

    Non-spacing marks are dropped, except the Japanese voicing marks (U+3099, U+309A); Hangul
    syllables decompose into jamo, which are letters, and compose again.
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(
        ch for ch in decomposed if ch in _KEEP_MARKS or unicodedata.category(ch) != "Mn"
    )
    return unicodedata.normalize("NFC", stripped)


def _split_word(word: str) -> list[str]:
    """Split a word into Latin parts and CJK runs; CJK runs become characters and pairs."""
    tokens: list[str] = []
    run: list[str] = []
    latin: list[str] = []

    def flush_latin() -> None:
        if latin:
            tokens.append("".join(latin).replace("_", ""))
            latin.clear()

    def flush_run() -> None:
        if run:
            tokens.extend(run)
            tokens.extend(a + b for a, b in zip(run, run[1:], strict=False))
            run.clear()

    for ch in word:
        if _is_cjk(ch):
            flush_latin()
            run.append(ch)
        else:
            flush_run()
            latin.append(ch)
    flush_latin()
    flush_run()
    return [t for t in tokens if t]


def index_tokens(*texts: str | None) -> str:
    """The searchable document for some field values: tokens joined by spaces."""
    seen: dict[str, None] = {}
    for text in texts:
        if not text:
            continue
        for word in _words(fold(text)):
            for token in _split_word(word):
                seen.setdefault(token, None)
    return " ".join(seen)


_PHONE_QUERY = re.compile(r"^\+?[\d\s().\-/]{4,}$")


def phone_tokens(e164: str, national: str) -> list[str]:
    """Tokens for a phone number: the full number, the national number, and the national
    number's endings from four digits on, so "9988" or "65529988" find it."""
    tokens = [e164.lstrip("+"), national]
    tokens.extend(national[i:] for i in range(1, len(national) - 3))
    return tokens


def query_tokens(text: str) -> list[str]:
    """The tokens a query must all match (each as a prefix).

    A query that looks like a phone number ("030 1234 567", "+49 30 1234567") is one token:
    its digits, without the national trunk zero. A CJK run of two or more characters is
    matched by its pairs only: "张伟" must not match a record holding 张 and 伟 apart.
    """
    if _PHONE_QUERY.match(text.strip()) and len(digits(text)) >= 4:
        return [digits(text).lstrip("0") or "0"]
    tokens: list[str] = []
    for word in _words(fold(text)):
        parts = _split_word(word)
        for part in parts:
            if len(part) == 1 and _is_cjk(part) and _has_pair_with(part, parts):
                continue
            if part not in tokens:
                tokens.append(part)
    return tokens


def _has_pair_with(char: str, parts: list[str]) -> bool:
    return any(len(p) == 2 and char in p and all(_is_cjk(c) for c in p) for p in parts)


def digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())
