"""`crm dupes contacts` on 100,000 contacts with 1,000 planted duplicates: the whole process
(start-up, reading, blocking, scoring, JSON out) <= 5 s, and recall >= 95% of the planted
pairs. Prints both, and how many other pairs were listed.

The database is built with `executemany` inserts (not through the CLI): 100,000 contacts
with one email and one phone each, most at one of 8,000 companies, some with a `city`
custom field; names from a few hundred given names and a few thousand family names, one in
ten Chinese. Then 1,000 duplicates of existing contacts are added, 200 of each kind:

- typo: one letter changed, dropped, doubled or swapped in the name; same company
- email-case: the same address in another case (and with a +tag), the name written
  "Family, Given"
- phone-format: the same phone written another way (spaces, a national prefix), same name
- swapped: "Given Family" as "Family Given", same city
- initial: a middle initial added ("Jonas K. Weber"), same company

Usage: python bench/dupes.py [--contacts 100000] [--planted 1000] [--postgres URL] [--runs 3]
                             [--baseline PATH/TO/crm]

`--baseline` runs another build's `crm` (say, main's) on the same database in the same run,
turn about with this one, so the two are compared under the same load.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert

from crm_cli import config
from crm_cli.domain.text import index_tokens
from crm_cli.services.context import Context
from crm_cli.store.models import Company, Contact, ContactEmail, ContactPhone
from crm_cli.store.types import utcnow

GIVEN = (
    "Ana Bruno Carla David Elena Farid Grace Hugo Ines Jonas Kenji Lena Mateo Nadia Omar Priya "
    "Quinn Rosa Sven Tomás Amir Beatriz Chloe Dmitri Emma Felix Greta Hana Igor Julia Karim "
    "Laura Marco Nina Oscar Paula Rafael Sara Tariq Ursula Victor Wanda Xavier Yara Zoe Adrian "
    "Bianca Cyrus Daria Emil Fatima Gustav Helena Ivan Jasmin Kofi Lucia Miguel Noor Olga "
    "Pedro Rania Stefan Tanja Uma Vera Walter Yusuf Zeynep Aiko Björn Chiara Diego Eva Finn "
    "Gabriel Hiro Isabel Jakob Kaja Leon Mia Nils Ola Pablo Ronja Simon Thea Ulf Valentina"
).split()
SYLLABLES_A = (
    "Ber Kor Van Mal Sten Hol Dar Fen Gor Lin Mor Ros Sal Tor Wil Ald Bran Cas Dor Eng Fal "
    "Gra Har Ist Jor Kel Lan Mar Nor Ost Pal Quel Rav Sol Tan Ulm Vel Wes Yor Zan Bel Cor"
).split()
SYLLABLES_B = (
    "berg mann ström ford ley ton wick hart stein dale field more ridge well worth bach "
    "feld holm lund vik sen son ez ini elli escu ović ski ova er ard ing ey"
).split()
CJK_FAMILY = ["张", "王", "李", "刘", "陈", "杨", "黄", "赵", "周", "吴", "徐", "孙", "马"]
CJK_GIVEN = list("伟芳娜敏静强磊洋艳勇军杰娟涛明超秀霞平刚桂英华玉兰")
CITIES = [f"City{n}" for n in range(300)]
KINDS = ("typo", "email-case", "phone-format", "swapped", "initial")


def _family(rng: random.Random) -> str:
    return rng.choice(SYLLABLES_A) + rng.choice(SYLLABLES_B)


def _name(rng: random.Random) -> str:
    if rng.random() < 0.1:
        return rng.choice(CJK_FAMILY) + "".join(rng.choice(CJK_GIVEN) for _ in range(2))
    return f"{rng.choice(GIVEN)} {_family(rng)}"


def _typo(rng: random.Random, name: str) -> str:
    words = name.split()
    i = max(range(len(words)), key=lambda k: len(words[k]))
    word = words[i]
    at = rng.randrange(1, len(word) - 1)
    how = rng.choice(("change", "drop", "double", "swap"))
    if how == "change":
        word = word[:at] + rng.choice("aeiourstnl") + word[at + 1 :]
    elif how == "drop":
        word = word[:at] + word[at + 1 :]
    elif how == "double":
        word = word[:at] + word[at] + word[at:]
    else:
        word = word[: at - 1] + word[at] + word[at - 1] + word[at + 1 :]
    words[i] = word
    return " ".join(words)


def build(url: str, count: int, planted: int) -> tuple[Context, list[tuple[int, int]]]:
    """The database, and the planted pairs as (original id, duplicate id)."""
    rng = random.Random(11)
    ctx = Context(config=config.Config({}, Path("/nonexistent")), url=url)
    now = utcnow()
    companies = 8_000
    contacts: list[dict[str, object]] = []
    emails: list[dict[str, object]] = []
    phones: list[dict[str, object]] = []

    def add(name: str, email: str, phone: str, company: int | None, city: str | None) -> int:
        cid = len(contacts) + 1
        contacts.append(
            {
                "id": cid,
                "name": name,
                "lifecycle": "lead",
                "company_id": company,
                "custom": {"city": city} if city else {},
                "search_name": index_tokens(name),
                "search_doc": "",
                "created_at": now,
                "updated_at": now,
            }
        )
        emails.append({"contact_id": cid, "email": email, "position": 0})
        phones.append({"contact_id": cid, "phone": phone, "position": 0})
        return cid

    for i in range(1, count - planted + 1):
        name = _name(rng)
        add(
            name,
            f"p{i}@{'mail' if rng.random() < 0.5 else f'co{rng.randrange(companies)}'}.example",
            f"+4930{rng.randrange(10**7, 10**8)}",
            rng.randrange(1, companies + 1) if rng.random() < 0.7 else None,
            rng.choice(CITIES) if rng.random() < 0.4 else None,
        )
    pairs: list[tuple[int, int]] = []
    originals = rng.sample(range(1, len(contacts) + 1), planted)
    for n, original in enumerate(originals):
        row = contacts[original - 1]
        name = str(row["name"])
        email = str(emails[original - 1]["email"])
        phone = str(phones[original - 1]["phone"])
        company = row["company_id"]
        fresh_email = f"dup{n}@other{n}.example"
        fresh_phone = f"+4940{rng.randrange(10**7, 10**8)}"
        kind = KINDS[n % len(KINDS)]
        latin = " " in name
        if kind == "typo":
            company = company or rng.randrange(1, companies + 1)
            row["company_id"] = company
            # A Chinese name has no letter to mistype: the same name again at the company.
            shown = _typo(rng, name) if latin else name
            dup = add(shown, fresh_email, fresh_phone, int(company), None)  # type: ignore[arg-type]
        elif kind == "email-case":
            local, domain = email.split("@")
            shown = ", ".join(reversed(name.split())) if latin else name
            dup = add(shown, f"{local.upper()}+old@{domain.upper()}", fresh_phone, None, None)
        elif kind == "phone-format":
            national = "0" + phone[3:5] + " " + phone[5:9] + " " + phone[9:]
            dup = add(name, fresh_email, national, None, None)
        elif kind == "swapped":
            city = rng.choice(CITIES)
            row["custom"] = {"city": city}
            shown = " ".join(reversed(name.split())) if latin else name
            dup = add(shown, fresh_email, fresh_phone, None, city.upper())
        else:
            company = company or rng.randrange(1, companies + 1)
            row["company_id"] = company
            given, _, family = name.partition(" ")
            shown = f"{given} {rng.choice('ABCDEFGHJKLMNPRST')}. {family}" if latin else name
            dup = add(shown, fresh_email, fresh_phone, int(company), None)  # type: ignore[arg-type]
        pairs.append((original, dup))
    with ctx.session(journal=False) as session:
        session.execute(
            insert(Company),
            [
                {
                    "id": i,
                    "name": f"Company {i}",
                    "custom": {},
                    "search_name": "",
                    "search_doc": "",
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(1, companies + 1)
            ],
        )
        for start in range(0, len(contacts), 20_000):
            session.execute(insert(Contact), contacts[start : start + 20_000])
        session.execute(insert(ContactEmail), emails)
        session.execute(insert(ContactPhone), phones)
    if url.startswith("postgresql"):
        with ctx.session(journal=False) as session:
            from sqlalchemy import text

            for table in ("company", "contact", "contact_email", "contact_phone"):
                session.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
    return ctx, pairs


def run_cli(
    url: str, home: str, crm: str | None = None
) -> tuple[float, float, list[dict[str, object]]]:
    """One `crm dupes contacts --json` process: its wall time, its CPU time (user + system,
    which a machine shared with other work does not inflate), and its pairs."""
    env = {
        **os.environ,
        "CRM_HOME": home,
        "CRM_DATABASE_URL": url,
        "CRM_USER_NAME": "Bench",
        "CRM_USER_EMAIL": "bench@example.com",
    }
    crm = crm or str(Path(sys.executable).with_name("crm"))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        [crm, "dupes", "contacts", "--json"], env=env, capture_output=True, check=True
    )
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu, json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--planted", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", help="measure on this (empty) PostgreSQL database too")
    parser.add_argument("--baseline", help="another crm executable to measure alongside")
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="crm-dupes-")
    targets = [("sqlite", f"sqlite:///{home}/d.db")]
    if args.postgres:
        targets.append(("postgresql", args.postgres))
    for label, url in targets:
        start = time.perf_counter()
        ctx, planted = build(url, args.contacts, args.planted)
        ctx.close()
        built = time.perf_counter() - start
        times, cpus, found = [], [], []
        base_times: list[float] = []
        base_cpus: list[float] = []
        for _ in range(args.runs):
            if args.baseline:
                elapsed, cpu, _pairs = run_cli(url, home, args.baseline)
                base_times.append(elapsed)
                base_cpus.append(cpu)
            elapsed, cpu, found = run_cli(url, home)
            times.append(elapsed)
            cpus.append(cpu)
        listed = {(int(p["first"]["id"]), int(p["second"]["id"])) for p in found}  # type: ignore[index]
        wanted = {tuple(sorted(p)) for p in planted}
        hits = wanted & listed
        by_kind = {
            kind: sum(
                1
                for n, p in enumerate(planted)
                if KINDS[n % len(KINDS)] == kind and tuple(sorted(p)) in listed
            )
            for kind in KINDS
        }
        per_kind = args.planted // len(KINDS)
        recall = len(hits) / len(wanted)
        best = min(times)
        print(
            f"{label}: {args.contacts:,} contacts ({args.planted:,} planted) built in {built:.1f} s"
        )
        print(
            f"  crm dupes contacts --json, whole process: median {statistics.median(times):.2f} s, "
            f"best {best:.2f} s of {args.runs}: {'PASS' if best <= 5 else 'FAIL'} (target <= 5 s)"
        )
        print(
            f"  CPU time of that process (user + system): median {statistics.median(cpus):.2f} s, "
            f"best {min(cpus):.2f} s; load average now {os.getloadavg()[0]:.1f} "
            f"on {os.cpu_count()} cores"
        )
        print(
            f"  recall {recall:.1%} ({len(hits)} of {len(wanted)} planted pairs): "
            f"{'PASS' if recall >= 0.95 else 'FAIL'} (target >= 95%)"
        )
        print("  by kind: " + ", ".join(f"{k} {v}/{per_kind}" for k, v in by_kind.items()))
        print(f"  other pairs listed: {len(listed - wanted)}")
        if base_times:
            print(
                f"  baseline {args.baseline}: wall median {statistics.median(base_times):.2f} s, "
                f"best {min(base_times):.2f} s; CPU median {statistics.median(base_cpus):.2f} s, "
                f"best {min(base_cpus):.2f} s"
            )


if __name__ == "__main__":
    main()
