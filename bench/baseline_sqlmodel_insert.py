"""The floor of the chosen stack: import sqlmodel, open a SQLite file, insert one row.

`crm contact add` and `crm deal add` are compared with this script in the same run.
Usage: python bench/baseline_sqlmodel_insert.py DB_PATH
"""

import sys
from datetime import UTC, datetime

from sqlmodel import Field, Session, SQLModel, create_engine


class Person(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str
    email: str | None = None
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


engine = create_engine(f"sqlite:///{sys.argv[1]}")
SQLModel.metadata.create_all(engine)
with Session(engine) as session:
    session.add(Person(name="Ana Lima", email="ana@example.com"))
    session.commit()
