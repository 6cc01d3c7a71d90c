"""Text rules: what a stored text may hold, how it is shown safely, and the search tokenizer.

Stored text comes from people, files and scripts, so it is checked on the way in
(`clean_line` for names and titles, `clean_block` for notes and bodies): control characters
are refused, because a name holding ESC [ 2 J clears the screen of whoever lists it. Text that
reached the database before these checks (or by another road) is made safe on the way out:
`escape_controls` shows every control character as its Python escape (`\\x1b`, `\\n`,
`\\u202e`), the same form error messages use.

Search: one tokenizer shared by both databases.

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
from collections.abc import Callable

from crm_cli.errors import InvalidValue

# Japanese voicing marks: combining marks that change the letter, not decorate it.
_KEEP_MARKS = {"\u3099", "\u309a"}


def _words(text: str) -> list[str]:
    """Runs of letters, digits and (spacing) marks. `\\w` would split words at combining
    marks: Devanagari vowel signs, for example."""
    if text.isascii():  # the common case, ~10x faster: ASCII letters and digits are L and N
        return _ASCII_WORD.findall(text)
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


_ASCII_WORD = re.compile(r"[A-Za-z0-9]+")


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
    if text.isascii():  # no marks to drop: imports index a hundred thousand rows at once
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(
        ch for ch in decomposed if ch in _KEEP_MARKS or unicodedata.category(ch) != "Mn"
    )
    return unicodedata.normalize("NFC", stripped)


def _split_word(word: str) -> list[str]:
    """Split a word into Latin parts and CJK runs; CJK runs become characters and pairs."""
    if word.isascii():
        plain = word.replace("_", "")
        return [plain] if plain else []
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
    number's endings from four digits on, so "9988" or "65529988" find it. A number with an
    extension (`+4930123456 ext. 12`) is found by the number."""
    tokens = [e164.partition(" ")[0].lstrip("+"), national]
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


# --- stored text: checks on the way in, escapes on the way out --------------------------------

# What must never reach a terminal raw: C0 and C1 controls and DEL (they move the cursor, clear
# the screen, set the window title), the bidi embeddings, overrides and isolates (they reorder
# the text after them: the "Trojan Source" trick), the Unicode line and paragraph separators,
# and lone surrogates (undecodable bytes; writing one to a UTF-8 stream raises).
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def escape_controls(text: str, keep: str = "") -> str:
    """`text` with each unsafe character shown as its Python escape: ESC as `\\x1b`, a line
    break as `\\n`, a right-to-left override as `\\u202e`. Characters in `keep` (say "\\n\\t"
    for a multi-line note shown on its own) stay as they are.

    A backslash in the text is not doubled, so `\\x1b` typed literally looks the same as an
    escaped ESC: this is for reading; JSON is the exact form.
    """
    if not _UNSAFE.search(text):
        return text

    def one(match: re.Match[str]) -> str:
        ch = match.group()
        if ch in keep:
            return ch
        if "\ud800" <= ch <= "\udfff":
            return f"\\u{ord(ch):04x}"  # repr() would keep a lone surrogate as it is
        return repr(ch)[1:-1]

    return _UNSAFE.sub(one, text)


# Characters that show nothing by themselves: spaces, zero-width and other format characters
# (U+200B, U+FEFF, joiners), marks that need a base letter, unassigned and private code points.
_VISIBLE_CLASSES = ("L", "N", "S", "P")


def _has_visible(text: str) -> bool:
    return any(unicodedata.category(ch)[0] in _VISIBLE_CLASSES for ch in text)


def _refuse_controls(value: str, field: str, allowed: str) -> None:
    for i, ch in enumerate(value):
        if ch in allowed:
            continue
        category = unicodedata.category(ch)
        if category == "Cc":
            raise InvalidValue(
                field,
                value,
                f"contains a control character ({repr(ch)[1:-1]} at position {i}); "
                "type the text without it",
            )
        if category == "Cs":
            raise InvalidValue(
                field, value, f"contains undecodable bytes (\\u{ord(ch):04x} at position {i})"
            )


def clean_line(
    value: str, field: str, *, max_len: int = 500, required: bool = True, collapse: bool = True
) -> str:
    """A single-line value (a name, a title) as it should be stored.

    NFC-normalised (so "é" typed two ways is one string), whitespace collapsed to single
    spaces (a pasted trailing newline or tab is not an error), at most `max_len` characters.
    Refused: control characters (C0 other than tab and line breaks, DEL, C1), undecodable
    bytes, and a value with nothing visible in it (only spaces, zero-width characters or
    combining marks). Zero-width joiners and the like are kept inside a value: emoji
    sequences, Persian and Indic names need them. Bidi marks and overrides are not control
    characters and are stored; the display escapes the overrides.

    With `required=False` an empty value gives "" (the caller stores nothing). With
    `collapse=False` only the ends are trimmed: a company's registered name keeps its inner
    spacing exactly as another system exported it.
    """
    _refuse_controls(value, field, "\t\n\r")
    normal = unicodedata.normalize("NFC", value)
    text = " ".join(normal.split()) if collapse else normal.strip()
    if not text:
        if required:
            raise InvalidValue(field, value, "must not be empty")
        return ""
    if not _has_visible(text):
        raise InvalidValue(field, value, "must contain a visible character")
    if len(text) > max_len:
        raise InvalidValue(field, value, f"too long ({len(text)} characters; at most {max_len})")
    return text


def clean_block(value: str, field: str, max_len: int = 100_000) -> str:
    """A multi-line value (a note, an interaction's body) as it should be stored.

    Line breaks and tabs are kept; Windows line ends (\\r\\n) become \\n. Other control
    characters are refused, a lone \\r among them (it moves the cursor back over the line: the
    classic way to hide text on a terminal). NFC-normalised, surrounding whitespace removed,
    at most `max_len` characters. An empty value gives "".
    """
    text = value.replace("\r\n", "\n")
    _refuse_controls(text, field, "\t\n")
    text = unicodedata.normalize("NFC", text).strip()
    if len(text) > max_len:
        raise InvalidValue(field, value, f"too long ({len(text)} characters; at most {max_len})")
    return text


def has_cjk(text: str) -> bool:
    """Whether `text` holds a Chinese, Japanese or Korean character: its words are then
    indexed as characters and pairs (see `index_tokens`), not in the order they were typed."""
    return not text.isascii() and any(_is_cjk(ch) for ch in text)


def names_matching(names: list[str], ref: str, *, loose: bool = False) -> list[int]:
    """The positions in `names` of those that `ref` names: the name as typed (spaces
    collapsed), else those equal to it case aside, else with case and accents folded
    ("negociacao" is Negociação, "jose perez" José Pérez); with `loose`, else those whose
    folded name starts with `ref`, else those with a word that does ("jose" is José Pérez,
    "perez" too). For the short lists of stages, pipelines and users, compared in Python."""
    wanted = " ".join(ref.split())
    if not wanted:
        return []
    shown = [" ".join(n.split()) for n in names]
    rules: list[Callable[[str], bool]] = [
        lambda n: n == wanted,
        lambda n: n.lower() == wanted.lower(),
        lambda n: fold(n) == fold(wanted),
    ]
    if loose:
        folded, typed = fold(wanted), index_tokens(wanted).split()
        rules.append(lambda n: fold(n).startswith(folded) or _starts_words(n, typed, 0))
        rules.append(lambda n: f" {folded}" in f" {fold(n)}" or _starts_words(n, typed, None))
    for rule in rules:
        found = [i for i, n in enumerate(shown) if rule(n)]
        if found:
            return found
    return []


def _starts_words(name: str, typed: list[str], at: int | None) -> bool:
    """Whether the search tokens of `name` hold the `typed` tokens in a row, the last as a
    token's start: at token `at`, or anywhere if None ("brien" starts a word of O'Brien)."""
    if not typed:
        return False
    words = index_tokens(name).split()
    n = len(typed)
    starts = range(len(words) - n + 1) if at is None else [at] if len(words) >= at + n else []
    return any(
        words[i : i + n - 1] == typed[:-1] and words[i + n - 1].startswith(typed[-1])
        for i in starts
    )


def closest_name(ref: str, names: list[str], cutoff: float = 60) -> int | None:
    """The position in `names` of the one closest to `ref` (rapidfuzz's ratio, 0..100, with
    case and accents folded), if at least `cutoff` close: the "did you mean" of a name that
    matched nothing. Compared with the whole name and with each of its words, so "Jonsa" is
    close to the "Jonas" of "Jonas Weber"."""
    from rapidfuzz import fuzz, process  # only when a name was not found

    wanted = " ".join(fold(ref).split())
    choices: list[str] = []
    owners: list[int] = []
    for i, name in enumerate(names):
        folded = " ".join(fold(name).split())
        for part in dict.fromkeys([folded, *folded.split()]):
            choices.append(part)
            owners.append(i)
    best = process.extractOne(wanted, choices, scorer=fuzz.ratio, score_cutoff=cutoff)
    return owners[best[2]] if best is not None else None
