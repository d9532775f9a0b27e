"""guomi.sqlalchemy on SQLite and PostgreSQL: transparent equality with re-check, narrow
indexes, unsupported comparisons raise, dumps hold no plaintext, rotation and reindex."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import BigInteger, Integer, create_engine, insert, or_, select, text, update
from sqlalchemy.dialects import mssql, mysql, oracle, postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.schema import CreateIndex, CreateTable

from guomi.exceptions import UnsupportedQueryError
from guomi.fields import BlindIndex, Field
from guomi.keys import Keyset
from guomi.sqlalchemy import EncryptedType, blind_index_column, text_length
from tests.postgres import fresh_schema_url

KEYSET = Keyset.generate()
# Deliberately narrow indexes: 3 bits = 8 buckets, so most lookups hit false positives.
email = Field(
    "customer",
    "email",
    KEYSET,
    indexes=[BlindIndex("email_bidx", bits=3), BlindIndex("email_ci", "casefold", bits=3)],
)
mobile = Field("customer", "mobile", KEYSET, indexes=[BlindIndex("mobile_bidx", "digits", bits=4)])


class Base(DeclarativeBase):
    pass


class Customer(Base):
    __tablename__ = "customer"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(EncryptedType(email, length=text_length(254)))
    email_bidx: Mapped[int] = blind_index_column(email, "email_bidx")
    email_ci: Mapped[int] = blind_index_column(email, "email_ci")
    mobile: Mapped[str | None] = mapped_column(EncryptedType(mobile), nullable=True)
    mobile_bidx: Mapped[int | None] = blind_index_column(mobile, "mobile_bidx")


EMAILS = [f"User{i}@Bank.cn" for i in range(60)]


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    else:
        url = fresh_schema_url().replace("postgresql://", "postgresql+psycopg://", 1)
    eng = create_engine(url)
    Base.metadata.create_all(eng)
    with Session(eng) as s:
        s.add_all(Customer(id=i, email=e, mobile=f"+86 138-0000-{i:04d}") for i, e in enumerate(EMAILS))
        s.commit()
    yield eng
    eng.dispose()


def test_equality_and_in_are_exact_despite_false_positives(engine: Any) -> None:
    with Session(engine) as s:
        # The narrow index really does return extra candidates at the SQL level...
        h = email.index("email_bidx", EMAILS[5])
        raw = s.execute(text("SELECT count(*) FROM customer WHERE email_bidx = :h"), {"h": h}).scalar_one()
        assert raw > 1
        # ...and the ORM query still returns exactly the right rows.
        got = s.scalars(select(Customer).where(Customer.email == EMAILS[5])).all()
        assert [c.id for c in got] == [5]
        got = s.scalars(
            select(Customer).where(Customer.email.in_([EMAILS[1], EMAILS[7], "nobody@x.cn"]))
        ).all()
        assert sorted(c.id for c in got) == [1, 7]
        assert s.scalars(select(Customer).where(Customer.email == "nobody@x.cn")).all() == []
        assert s.scalars(select(Customer).where(Customer.email.iequals("user9@BANK.CN"))).one().id == 9
        assert s.scalars(select(Customer).where(Customer.mobile == "+86 138-0000-0003")).one().id == 3
        # Columns instead of entities are re-checked too.
        rows = s.execute(select(Customer.id, Customer.email).where(Customer.email == EMAILS[2])).all()
        assert [tuple(r) for r in rows] == [(2, EMAILS[2])]
        assert s.scalars(select(Customer).where(Customer.email.is_(None))).all() == []


def test_unsupported_comparisons_raise_naming_the_index(engine: Any) -> None:
    with pytest.raises(UnsupportedQueryError, match="prefix"):
        select(Customer).where(Customer.email.like("User1%"))
    with pytest.raises(UnsupportedQueryError, match="range"):
        select(Customer).where(Customer.email < "x")
    with pytest.raises(UnsupportedQueryError, match="substring"):
        select(Customer).where(Customer.email.contains("Bank"))
    with pytest.raises(UnsupportedQueryError, match="OR"), Session(engine) as s:
        s.scalars(select(Customer).where(or_(Customer.email == EMAILS[0], Customer.id == 3))).all()
    with pytest.raises(UnsupportedQueryError, match="OR"), Session(engine) as s:
        s.scalars(select(Customer).where(~(Customer.email == EMAILS[0]))).all()
    with Session(engine) as s:
        rows = s.scalars(select(Customer).where(Customer.email == EMAILS[1], Customer.id == 1)).all()
        assert [c.id for c in rows] == [1]
    with pytest.raises(UnsupportedQueryError, match="Session"), engine.connect() as conn:
        conn.execute(select(Customer).where(Customer.email == EMAILS[0]))


def test_index_filled_on_insert_update_and_core(engine: Any) -> None:
    with Session(engine) as s:
        c = s.get(Customer, 3)
        assert c is not None
        c.email = "changed@bank.cn"
        s.commit()
        assert s.scalars(select(Customer).where(Customer.email == "changed@bank.cn")).one().id == 3
        assert s.scalars(select(Customer).where(Customer.email == EMAILS[3])).all() == []
        s.execute(
            insert(Customer), [{"id": 100, "email": "core@bank.cn"}, {"id": 101, "email": "core2@bank.cn"}]
        )
        s.execute(update(Customer).where(Customer.id == 4).values(email="core-upd@bank.cn"))
        s.commit()
        assert s.scalars(select(Customer).where(Customer.email == "core@bank.cn")).one().id == 100
        assert s.scalars(select(Customer).where(Customer.email == "core2@bank.cn")).one().id == 101
        assert s.scalars(select(Customer).where(Customer.email == "core-upd@bank.cn")).one().id == 4
        # Updating another column keeps the stored index.
        s.execute(update(Customer).where(Customer.id == 4).values(mobile="+86 1"))
        s.commit()
        assert s.scalars(select(Customer).where(Customer.email == "core-upd@bank.cn")).one().id == 4


def test_dump_contains_no_plaintext(engine: Any) -> None:
    with engine.connect() as conn:
        dump = repr(conn.execute(text("SELECT * FROM customer")).all())
    for e in EMAILS[:20]:
        assert e not in dump and e.lower() not in dump
    assert "138-0000" not in dump and "gm1." in dump


def test_rotation_and_reindex_keep_every_row_readable(engine: Any) -> None:
    KEYSET.rotate()
    with Session(engine) as s:
        s.add(Customer(id=200, email="after-rotation@bank.cn"))
        s.commit()
        assert len(s.scalars(select(Customer)).all()) == 61
        assert s.scalars(select(Customer).where(Customer.email == EMAILS[10])).one().id == 10
        assert s.scalars(select(Customer).where(Customer.email == "after-rotation@bank.cn")).one().id == 200


def test_ddl_compiles_on_many_dialects() -> None:
    for dialect in (
        sqlite.dialect(),
        postgresql.dialect(),
        mysql.dialect(),
        oracle.dialect(),
        mssql.dialect(),
    ):
        ddl = str(CreateTable(Customer.__table__).compile(dialect=dialect))
        assert "email_bidx" in ddl
        assert any(t in ddl for t in ("BIGINT", "NUMBER(19)"))
        for idx in Customer.__table__.indexes:
            assert "CREATE INDEX" in str(CreateIndex(idx).compile(dialect=dialect))
    assert isinstance(Customer.__table__.c.email_bidx.type, BigInteger)


reindexed = Field(
    "account",
    "email",
    KEYSET,
    indexes=[BlindIndex("email_bidx", bits=3), BlindIndex("email_bidx_v2", bits=5, key_id=KEYSET.primary_id)],
)


class Account(Base):
    __tablename__ = "account"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(EncryptedType(reindexed))
    email_bidx: Mapped[int | None] = blind_index_column(reindexed, "email_bidx")
    email_bidx_v2: Mapped[int | None] = blind_index_column(reindexed, "email_bidx_v2")


def test_reindex_switch_answers_old_and_new_index(engine: Any) -> None:
    with Session(engine) as s:
        s.add_all(Account(id=i, email=f"a{i}@bank.cn") for i in range(20))
        s.commit()
        # Mid-reindex: half the rows have only the old index, half only the new one.
        s.execute(text("UPDATE account SET email_bidx_v2 = NULL WHERE id < 10"))
        s.execute(text("UPDATE account SET email_bidx = NULL WHERE id >= 10"))
        s.commit()
        for i in (3, 15):
            assert s.scalars(select(Account).where(Account.email == f"a{i}@bank.cn")).one().id == i
        got = s.scalars(select(Account).where(Account.email.in_(["a1@bank.cn", "a19@bank.cn"]))).all()
        assert sorted(a.id for a in got) == [1, 19]
