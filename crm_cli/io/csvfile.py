"""Reading CSV files as real exports write them: bytes in, a header and rows out.

Encodings: a byte-order mark decides (UTF-8, UTF-16, UTF-32); then UTF-16 without a mark (every
other byte zero); then strict UTF-8, which almost never decodes a file that is not UTF-8. Only
then a legacy encoding: the Chinese and Japanese ones (GB18030, Shift_JIS, Big5) when the
bytes decode strictly with one and read as Chinese or Japanese (of several, the one whose
reading keeps to each encoding's common characters: a wrong reading lands among rare ones),
else, when some lines are UTF-8 and others not, each line in UTF-8 or Windows-1252, else
Windows-1252 (Latin-1 with the printable 0x80-0x9f range). No detector decides: on a
file of names in Windows-1252, or a short one in GB18030, they guess wrong often enough
(measured). The report shows a few decoded non-ASCII values so that a wrong guess is seen at
once. `--encoding` overrides all of it.

The delimiter is sniffed from the header line (`,` `;` tab `|`, the one it has most of) unless
given or named by Excel's `sep=;` first line (which is then skipped). Quoted newlines, CRLF
and CR-only line ends, ragged rows (short ones padded, long ones kept whole for the rejects
file), blank lines, duplicate header names and a preamble before the header (`skip_lines`)
are all read. A quote that opens a cell and never closes rejects its row alone (the csv
module would read the rest of the file into that cell). Every cell goes through
`unneutralise`, so a file that `crm export` wrote comes back as it was.

No database here: `crm_cli.io.mapping` turns rows into `SourceRecord`s.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from crm_cli.errors import InvalidValue
from crm_cli.io.cells import unneutralise

DELIMITERS = (",", ";", "\t", "|")
# The first line Excel writes (and reads) to name a file's delimiter: `sep=;`.
_SEP_HINT = re.compile(r'^"?sep=([^"\r\n])"?[ \t]*\r?\n?$', re.IGNORECASE)
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """The text of `data` and the name of the encoding it was read with (see the module
    docstring for the order). A given `encoding` that does not fit is refused, naming the
    byte at fault."""
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise InvalidValue("encoding", encoding, "not an encoding Python knows") from None
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError as exc:
            raise InvalidValue(
                "encoding",
                encoding,
                f"the file is not {encoding}: byte 0x{data[exc.start]:02x} at offset {exc.start}",
            ) from None
    for bom, name in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(name), name
            except UnicodeDecodeError:
                break
    guessed = _utf16_without_bom(data)
    if guessed is not None:
        try:
            return data.decode(guessed), guessed
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    legacy = _legacy_cjk(data)
    if legacy is not None:
        return data.decode(legacy), legacy
    mixed = _mixed_utf8(data)
    if mixed is not None:
        return mixed, "utf-8 (some lines cp1252)"
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        # Bytes cp1252 leaves undefined (0x81, 0x8d, ...): plain Latin-1 maps every byte.
        return data.decode("latin-1"), "latin-1"


def _mixed_utf8(data: bytes) -> str | None:
    """The text of a file in UTF-8 but for some lines in Windows-1252 (files pasted together,
    a row typed in another program), each line read in the one it is in; None when no line
    is UTF-8 with a non-ASCII letter. Read whole as Windows-1252, its UTF-8 names would be
    stored garbled (José as JosÃ©)."""
    out: list[str] = []
    utf8 = False
    for line in data.splitlines(keepends=True):
        if line.isascii():
            out.append(line.decode("ascii"))
            continue
        try:
            out.append(line.decode("utf-8"))
            utf8 = True
        except UnicodeDecodeError:
            try:
                out.append(line.decode("cp1252"))
            except UnicodeDecodeError:
                out.append(line.decode("latin-1"))
    return "".join(out) if utf8 else None


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 of mostly ASCII text has a zero in every other byte."""
    sample = data[:4000]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    return None


def cjk_plausible(text: str, is_cjk: Callable[[str], bool] | None = None) -> bool:
    """Whether `text` reads as Chinese or Japanese (or what `is_cjk` says of a character: the
    vCard reader counts Korean too): its non-ASCII characters are ideographs or kana, and none
    is glued to an ASCII letter. Latin-1 read as Big5 turns `P\xe9b\xe9o` into `P嶵廩o` (a
    detector's guess, measured): ideographs inside a Latin word say no."""
    wide_char = _is_cjk if is_cjk is None else is_cjk
    wide = 0
    total = 0
    previous = " "
    for ch in text[:200_000]:
        if ch.isascii():
            if ch.isalpha() and wide_char(previous):
                return False
        else:
            total += 1
            if wide_char(ch):
                wide += 1
                if previous.isascii() and previous.isalpha():
                    return False
        previous = ch
    # A Latin-1 byte from 0xa1 to 0xdf alone (© ® ° À ... ß) reads in Shift_JIS as one
    # half-width katakana: real half-width kana come in words, a lone one is no evidence.
    wide -= len(_LONE_HALF_WIDTH_KANA.findall(text, 0, 200_000))
    return total > 0 and wide > 0 and wide >= 0.9 * total


_LONE_HALF_WIDTH_KANA = re.compile("(?<![\uff61-\uff9f])[\uff61-\uff9f](?![\uff61-\uff9f])")


def _is_cjk(ch: str) -> bool:
    code = ord(ch)
    return (
        0x4E00 <= code <= 0x9FFF  # ideographs
        or 0x3040 <= code <= 0x30FF  # kana
        or 0x3400 <= code <= 0x4DBF
        or 0xFF00 <= code <= 0xFFEF  # full-width forms
        or 0x3000 <= code <= 0x303F  # CJK punctuation
    )


def _legacy_cjk(data: bytes) -> str | None:
    """GB18030, Shift_JIS (as Windows' cp932) or Big5, when the bytes decode strictly with one
    and read as Chinese or Japanese; of several, the one whose reading uses common characters."""
    plausible: dict[str, str] = {}
    for name in ("gb18030", "cp932", "big5"):
        try:
            text = data.decode(name)
        except UnicodeDecodeError:
            continue
        if cjk_plausible(text):
            plausible[name] = text
    if not plausible:
        return None
    # Japanese is written with hiragana, Chinese never: that tells Shift_JIS apart at once.
    japanese = plausible.get("cp932", "")
    if any(0x3040 <= ord(ch) <= 0x309F for ch in japanese[:200_000]):
        return "cp932"
    if len(plausible) == 1:
        return next(iter(plausible))
    # Names are written with common characters. Bytes of one encoding read as another land
    # among the rare ones: GB18030's 张伟 read as Big5 is 桲帡, from its second-level block.
    shares = {name: _common_share(text, name) for name, text in plausible.items()}
    best = max(shares.values())
    leaders = [name for name, share in shares.items() if share == best]
    if len(leaders) == 1:
        return leaders[0]
    # A tie (a short file: a name or two) goes to GB18030, the encoding of most such files.
    # A detector's guess did worse here: it took 9 of 20 two-hanzi GB18030 names for Big5.
    return leaders[0]


# Where each encoding keeps its common characters, by the lead byte of a two-byte character:
# punctuation, kana and the first level of hanzi or kanji (GB2312 level 1: 3,755 hanzi; Big5's
# frequent block: 5,401; JIS X 0208 level 1: 2,965 kanji).
_COMMON_LEADS = {
    "gb18030": range(0xA1, 0xD8),
    "big5": range(0xA1, 0xC7),
    "cp932": (*range(0x81, 0x85), *range(0x88, 0x99)),
}


def _common_share(text: str, codec: str) -> float:
    """The share of `text`'s two-byte characters that `codec` keeps among its common ones."""
    leads = _COMMON_LEADS[codec]
    common = total = 0
    for ch in text:
        if ch.isascii():
            continue
        raw = ch.encode(codec)
        if len(raw) != 2:
            continue
        total += 1
        # GB2312's own characters have both bytes high; GBK's additions (rare hanzi) do not.
        common += raw[0] in leads and (codec != "gb18030" or raw[1] >= 0xA1)
        if total >= 20_000:
            break
    return common / total if total else 0.0


def sniff_delimiter(line: str) -> str:
    """The delimiter the header line uses most, outside quotes; a comma when it has none."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


@dataclass
class CsvRow:
    """One row: the line it ends on (counting from 1, the preamble and header included), its
    cells as values (unneutralised) and as the file has them (for the rejects file)."""

    line: int
    cells: list[str]
    raw: list[str]


@dataclass
class CsvFile:
    header: list[str]
    rows: Iterator[CsvRow]
    encoding: str
    delimiter: str
    samples: list[str] = field(default_factory=list)
    raw_header: list[str] = field(default_factory=list)


def _check_delimiter(value: str) -> str:
    named = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
    value = named.get(value.lower(), value)
    if len(value) != 1 or value in '"\r\n':
        raise InvalidValue("delimiter", value, "one character, e.g. , ; | or tab")
    return value


def read_csv(
    data: bytes,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    skip_lines: int = 0,
    name: str = "-",
) -> CsvFile:
    """The file's header and rows. Blank lines are skipped; `skip_lines` lines before the
    header are a preamble (LinkedIn's "Notes:"). Refused when there is no header."""
    _refuse_binary(data, name)
    text, used = decode(data, encoding)
    if text.startswith("\ufeff"):
        text = text[1:]
    _refuse_not_csv(text, name)
    csv.field_size_limit(sys.maxsize)
    stream = io.StringIO(text, newline="")
    skipped = 0
    for _ in range(max(skip_lines, 0)):
        if not stream.readline():
            break
        skipped += 1
    start = stream.tell()
    first = ""
    read = 0
    for candidate in iter(stream.readline, ""):
        read += 1
        if candidate.strip():
            first = candidate
            break
    hint = _SEP_HINT.match(first)
    if hint:
        # Excel's "sep=;" line names the delimiter and is no part of the data.
        start, skipped = stream.tell(), skipped + read
        first = ""
        for candidate in iter(stream.readline, ""):
            if candidate.strip():
                first = candidate
                break
    if not first:
        raise InvalidValue(
            "file", name, "has no header line" + (" after --skip-lines" if skip_lines else "")
        )
    if delimiter:
        delim = _check_delimiter(delimiter)
    elif hint:
        delim = hint.group(1)
    else:
        delim = sniff_delimiter(first)
    stream.seek(start)
    reader = csv.reader(stream, delimiter=delim, strict=False)
    header: list[str] | None = None
    raw_header: list[str] = []
    for cells in reader:
        if any(c.strip() for c in cells):
            header = [unneutralise(c).strip() for c in cells]
            raw_header = cells
            break
    assert header is not None
    samples = _samples(text)

    # An even count of quotes: no quote can be left open at the end (checked only when odd).
    odd_quotes = text.count('"') % 2 == 1

    def rows() -> Iterator[CsvRow]:
        # Once per row of a file of any size: only a cell starting with a quote can be one
        # `unneutralise` changes, and a row is blank when all its cells joined are.
        current, base, origin = reader, skipped, start
        while True:
            previous = current.line_num
            held: CsvRow | None = None  # the row read last: a quote left open ends in it
            held_start = 0
            for cells in current:
                first_line = previous + 1
                previous = current.line_num
                joined = "".join(cells)
                if not joined.strip():
                    continue
                # A row with no quote at all has nothing to unneutralise: its cells are its
                # values (neither list is changed afterwards).
                values = (
                    [unneutralise(c) if c[:1] == "'" else c for c in cells]
                    if "'" in joined
                    else cells
                )
                if "\r" in joined:
                    # A line break inside a cell is stored as "\n", whatever the file's own
                    # line ends (CRLF from Excel, CR from old Macs): vCard and JSON give it
                    # back as "\n", so a CRLF kept here would differ from every re-import.
                    values = [_one_line_end(c) if "\r" in c else c for c in values]
                if held is not None:
                    yield held
                held, held_start = CsvRow(previous + base, values, cells), first_line
            if held is None:
                return
            open_at = _open_quote(text, origin, held_start, delim) if odd_quotes else None
            if open_at is None:
                yield held
                return
            # The row's quote never closes: the csv module read the rest of the file into
            # its cell. The row is refused with its own line, and reading goes on after it.
            line_end, after = open_at
            line = text[_line_offset(text, origin, held_start) : line_end]
            raw = next(csv.reader([line], delimiter=delim, quoting=csv.QUOTE_NONE), [])
            number = held_start + base
            problem = (
                "a quote opens a cell and never closes, so the rest of the file would be "
                f"that one cell: {line[:60]!r}; close or remove the quote"
            )
            yield CsvRow(number, UnreadableCells(raw, problem), raw)
            base, origin = number, after
            current = csv.reader(
                io.StringIO(text[after:], newline=""), delimiter=delim, strict=False
            )

    return CsvFile(header, rows(), used, delim, samples, raw_header)


def _one_line_end(cell: str) -> str:
    return cell.replace("\r\n", "\n").replace("\r", "\n")


class UnreadableCells(list[str]):
    """A row's cells (as the file has them) that cannot be read as a row: `problem` says why.
    `crm_cli.io.mapping.records` turns them into a record with that problem."""

    def __init__(self, cells: Iterable[str], problem: str) -> None:
        super().__init__(cells)
        self.problem = problem


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _line_offset(text: str, origin: int, line: int) -> int:
    """Where line `line` (1-based, counted from offset `origin`) starts in `text`."""
    if line <= 1:
        return origin
    for count, match in enumerate(_LINE_BREAK.finditer(text, origin), 2):
        if count == line:
            return match.end()
    return len(text)


def _open_quote(text: str, origin: int, line: int, delimiter: str) -> tuple[int, int] | None:
    """When the row starting on `line` (counted from `origin`) opens a quoted cell that the
    file never closes: where that line ends and where the next one starts; else None. Read as
    the csv module reads: a quote opens a cell only at the cell's start, `""` is a quote."""
    at = _line_offset(text, origin, line)
    quoted = False
    cell_start = True
    i, end = at, len(text)
    while i < end:
        ch = text[i]
        if quoted:
            if ch == '"':
                if text[i + 1 : i + 2] == '"':
                    i += 2
                    continue
                quoted = False
        elif ch == '"' and cell_start:
            quoted = True
        cell_start = not quoted and ch in (delimiter, "\r", "\n")
        i += 1
    if not quoted:
        return None
    found = _LINE_BREAK.search(text, at)
    return (found.start(), found.end()) if found else (end, end)


# What the first bytes of files people mistake for CSV say they are.
_MAGIC = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx workbook is one: save it as CSV)"),
    (b"\xd0\xcf\x11\xe0", "an Excel .xls workbook (save it as CSV)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"SQLite format 3\x00", "an SQLite database"),
)


def _refuse_binary(data: bytes, name: str) -> None:
    """Refuse a file that is not text (an image, an archive, a workbook) before any row is
    read: read as CSV, each of its "rows" would be reported as a reject."""
    for magic, what in _MAGIC:
        if data.startswith(magic):
            raise InvalidValue("file", name, f"is {what}, not a CSV or vCard file")


def _refuse_not_csv(text: str, name: str) -> None:
    """Refuse text that is not CSV: binary bytes decoded as text (control characters
    throughout, not one stray NUL in a cell), JSON (crm's own `--json` export), or a vCard
    read as CSV."""
    sample = text[:8192]
    controls = sum(
        1 for ch in sample if (ch < " " or "\x7f" <= ch <= "\x9f") and ch not in "\t\r\n"
    )
    if controls * 10 > len(sample):  # a tenth: text, even of odd strings, has far fewer
        raise InvalidValue("file", name, "is binary data, not a CSV or vCard file")
    head = sample.lstrip("\ufeff \t\r\n")
    if head[:11].upper() == "BEGIN:VCARD":
        raise InvalidValue("file", name, "is a vCard, not CSV: import it with --format vcard")
    if head[:1] in ("[", "{") and _is_json(text):
        raise InvalidValue("file", name, "is JSON, not CSV: crm imports CSV and vCard files")


def _is_json(text: str) -> bool:
    """Whether `text` is a JSON document, or JSON Lines (a JSON object on its first line)."""
    import json

    try:
        json.loads(text)
        return True
    except ValueError:
        pass
    first = text.lstrip("\ufeff \t\r\n").split("\n", 1)[0]
    try:
        return isinstance(json.loads(first), dict | list)
    except ValueError:
        return False


def _samples(text: str, wanted: int = 3) -> list[str]:
    """A few words with non-ASCII letters, as decoded: a wrong encoding shows in them."""
    import re

    found: list[str] = []
    for word in re.split(r"[\s,;|\"]+", text[:500_000]):
        if not word.isascii() and word not in found:
            found.append(word[:40])
            if len(found) >= wanted:
                break
    return found


def write_rejects(
    path: str, header: list[str], rows: Iterable[tuple[list[str], str]], delimiter: str = ","
) -> int:
    """Write rejected rows as CSV: the file's header and cells exactly as it had them, plus
    `error` naming the field and the problem (a header that has `error` already, a rejects
    file imported again, gets it replaced). Fixed in place, the file imports as it is. It is
    private (0600): it holds customer data. Returns the number of rows written.

    With no header (a vCard file's cards, each given as its lines), the rejects are a vCard
    file: each card as the file had it, after a `# ` line with the error, which readers of
    vCard pass over (a card left without END:VCARD gets one, so the cards after it stay
    cards)."""
    import os

    if not header:  # a vCard file's records are cards: their rejects are cards again
        return _write_card_rejects(path, rows)
    lowered = [h.strip().lower() for h in header]
    at = lowered.index("error") if "error" in lowered else None
    out_header = list(header) if at is not None else [*header, "error"]
    position = at if at is not None else len(header)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    count = 0
    with open(fd, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(out_header)
        for cells, error in rows:
            padded = list(cells) + [""] * (len(header) - len(cells))
            if at is None:  # a ragged row's extra cells stay, after the error
                padded.insert(position, error)
            else:
                padded[position] = error
            writer.writerow(padded)
            count += 1
    return count


def _write_card_rejects(path: str, cards: Iterable[tuple[list[str], str]]) -> int:
    import os

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    count = 0
    with open(fd, "w", encoding="utf-8", newline="") as handle:
        for lines, error in cards:
            handle.write("# " + " ".join(error.split()) + "\r\n")
            body = list(lines)
            if not body or body[-1].strip().upper().replace(" ", "") != "END:VCARD":
                body.append("END:VCARD")
            handle.writelines(line + "\r\n" for line in body)
            count += 1
    return count
