"""Cards per second through the vCard codec, on a synthetic file built like real exports.

The file mixes the three versions: 4.0 cards from `write_vcard` (labels, a note, custom
fields), 3.0 cards with Apple item groups, and 2.1 cards with quoted-printable UTF-8 and
Shift_JIS names. Reading is timed whole (split, decode, parse, map); writing too.

Usage: python bench/vcard_read.py [CARDS]   (default 100000)
"""

from __future__ import annotations

import resource
import sys
import time

from crm_cli.io.vcard import read_vcards, write_vcards


def contact(i: int) -> dict[str, object]:
    return {
        "id": i,
        "name": f"Person {i}",
        "given_name": "Person",
        "family_name": str(i),
        "emails": [{"email": f"p{i}@example.com", "label": "work"}],
        "phones": [{"phone": f"+1555{i:07d}", "label": "mobile"}],
        "company": f"Company {i % 1000}",
        "title": "Buyer",
        "tags": ["lead", "2026"],
        "custom": {"note": f"Met at fair {i}; call back\nin May", "birthday": "1980-01-02"},
    }


def v30(i: int) -> str:
    return (
        "BEGIN:VCARD\r\nVERSION:3.0\r\n"
        f"FN:Apple {i}\r\nN:{i};Apple;;;\r\n"
        f"item1.EMAIL;type=INTERNET;type=pref:a{i}@icloud.example\r\n"
        "item1.X-ABLabel:_$!<Other>!$_\r\n"
        f"TEL;type=CELL;type=VOICE:+44 7700 {i % 1000000:06d}\r\n"
        "ORG:Fruit Ltd;Design\r\nEND:VCARD\r\n"
    )


def v21(i: int) -> bytes:
    name = f"安藤ロイド{i}".encode("cp932")
    qp = "".join(f"={b:02X}" for b in f"Zoë {i}".encode())
    return (
        b"BEGIN:VCARD\r\nVERSION:2.1\r\n"
        + b"N;CHARSET=SHIFT_JIS:"
        + name
        + b";;;;\r\n"
        + f"NOTE;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:{qp}\r\n".encode()
        + f"TEL;CELL:090{i:08d}\r\nEND:VCARD\r\n".encode()
    )


def main() -> None:
    cards = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    third = cards // 3
    started = time.perf_counter()
    written = "".join(write_vcards(contact(i) for i in range(cards - 2 * third)))
    write_seconds = time.perf_counter() - started
    data = (
        written.encode()
        + "".join(v30(i) for i in range(third)).encode()
        + b"".join(v21(i) for i in range(third))
    )
    started, cpu = time.perf_counter(), time.process_time()
    count = problems = 0
    for record in read_vcards(data):
        count += 1
        problems += record.problem is not None
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3  # Linux: KiB
    assert count == cards and problems == 0, (count, problems)
    print(f"file: {cards} cards, {len(data) / 1e6:.1f} MB (4.0, 3.0 and 2.1 Shift_JIS/QP)")
    print(f"write: {cards - 2 * third} 4.0 cards in {write_seconds:.2f} s")
    print(
        f"read: {count} cards in {seconds:.2f} s = {count / seconds:,.0f} cards/s "
        f"({cpu:.2f} s CPU = {count / cpu:,.0f} cards/s of CPU time); "
        f"peak RSS {peak:.0f} MB (the whole file is in memory, as bytes)"
    )


if __name__ == "__main__":
    main()
