"""`crm search` on 100,000 contacts, in-process: target <= 20 ms per query (median).

Builds a SQLite database of 100k contacts (names in several scripts, emails, phones, custom
fields) through the store's own tokenizer and bulk inserts, then times a set of queries
through `crm_cli.services.search.search`, the function `crm search` calls.

Usage: python bench/search_100k.py [--contacts 100000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert

from crm_cli import config
from crm_cli.domain.text import index_tokens, phone_tokens
from crm_cli.services.context import Context
from crm_cli.services.search import search
from crm_cli.store.models import Contact, ContactEmail, ContactPhone
from crm_cli.store.types import utcnow

GIVEN = [
    "Ana",
    "Bruno",
    "Carla",
    "David",
    "Elena",
    "Farid",
    "Grace",
    "Hugo",
    "Ines",
    "Jonas",
    "Kenji",
    "Lena",
    "Mateo",
    "Nadia",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tomás",
]
FAMILY = [
    "Lima",
    "Weber",
    "García",
    "Novák",
    "Solberg",
    "O'Brien",
    "Raman",
    "Rossi",
    "Dubois",
    "Kowalski",
    "Yilmaz",
    "Nguyen",
    "Müller",
    "Silva",
    "Hansen",
    "Popescu",
]
CJK_FAMILY = ["张", "王", "李", "刘", "陈", "杨", "黄", "赵", "佐藤", "鈴木", "김", "이", "박"]
CJK_GIVEN = ["伟", "芳", "娜", "敏", "静", "强", "磊", "洋", "花子", "太郎", "민준", "서연", "지훈"]
COMPANIES = [
    "Acme",
    "Northwind",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "云海科技",
    "Sakura Design",
    "Fjord Analytics",
]
QUERIES = [
    "ana",
    "weber",
    "garcía",
    "张伟",
    "佐藤",
    "민준",
    "acme",
    "globex",
    "9988",
    "030 555",
    "ana lima",
    "tier gold",
    "nadia@",
    "novák",
    "云海",
]


def build(url: str, count: int) -> Context:
    rng = random.Random(7)
    ctx = Context(config=config.Config({}, Path("/nonexistent")), url=url)
    now = utcnow()
    with ctx.session() as session:
        contacts, emails, phones = [], [], []
        for i in range(1, count + 1):
            if rng.random() < 0.3:
                name = rng.choice(CJK_FAMILY) + rng.choice(CJK_GIVEN)
            else:
                name = f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}"
            email = f"user{i}@{rng.choice(COMPANIES).lower().replace(' ', '')}.example"
            phone = f"+4930{rng.randrange(10**6, 10**7)}"
            custom = {"tier": rng.choice(["gold", "silver", "bronze"])}
            contacts.append(
                {
                    "id": i,
                    "name": name,
                    "lifecycle": "lead",
                    "custom": custom,
                    "search_name": index_tokens(name),
                    "search_doc": index_tokens(
                        email,
                        *phone_tokens(phone, phone[3:]),
                        rng.choice(COMPANIES),
                        custom["tier"],
                    ),
                    "created_at": now,
                    "updated_at": now,
                }
            )
            emails.append({"contact_id": i, "email": email, "position": 0})
            phones.append({"contact_id": i, "phone": phone, "position": 0})
        for start in range(0, count, 20_000):
            session.execute(insert(Contact), contacts[start : start + 20_000])
        session.execute(insert(ContactEmail), emails)
        session.execute(insert(ContactPhone), phones)
    return ctx


def time_queries(ctx: Context, rounds: int) -> dict[str, float]:
    results: dict[str, list[float]] = {q: [] for q in QUERIES}
    with ctx.session(write=False) as session:
        for q in QUERIES:  # warm the page cache
            search(session, q)
        for _ in range(rounds):
            for q in QUERIES:
                start = time.perf_counter()
                search(session, q)
                results[q].append((time.perf_counter() - start) * 1000)
    return {q: statistics.median(v) for q, v in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--postgres", help="also measure on this PostgreSQL database URL")
    args = parser.parse_args()
    targets = [("sqlite", f"sqlite:///{tempfile.mkdtemp(prefix='crm-search-')}/s.db")]
    if args.postgres:
        targets.append(("postgresql", args.postgres))
    for label, url in targets:
        start = time.perf_counter()
        ctx = build(url, args.contacts)
        built = time.perf_counter() - start
        medians = time_queries(ctx, args.rounds)
        ctx.close()
        worst = max(medians.values())
        overall = statistics.median(medians.values())
        print(f"{label}: {args.contacts:,} contacts built in {built:.1f} s")
        for q, ms in medians.items():
            print(f"  {q!r:<14} {ms:6.2f} ms")
        print(
            f"  median of queries {overall:.2f} ms, slowest {worst:.2f} ms: "
            f"{'PASS' if worst <= 20 else 'FAIL'} (target <= 20 ms per query)"
        )


if __name__ == "__main__":
    main()
