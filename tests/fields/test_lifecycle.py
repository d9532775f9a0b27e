"""Column lifecycle on SQLite and PostgreSQL: the CLI step killed with SIGKILL halfway
resumes with every row migrated exactly once and no concurrent application write lost;
encrypted → clean, rekey and reindex keep every row readable."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from guomi.cli._field import field as field_cli
from guomi.exceptions import InvalidArgumentError
from guomi.fields import BlindIndex, ColumnMigration, Field, token_info
from guomi.keys import Keyset
from tests.postgres import fresh_schema_url

ROOT = Path(__file__).resolve().parents[2]
ROWS = 2000
PASSPHRASE = "a long test passphrase"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'bank.db'}"
    else:
        url = fresh_schema_url().replace("postgresql://", "postgresql+psycopg://", 1)
    engine = sa.create_engine(url)
    with engine.begin() as c:
        if request.param == "sqlite":
            c.exec_driver_sql("PRAGMA journal_mode=WAL")
        c.exec_driver_sql("CREATE TABLE customer (id INTEGER PRIMARY KEY, email TEXT, name TEXT)")
        c.execute(
            sa.text("INSERT INTO customer (id, email, name) VALUES (:i, :e, :n)"),
            [{"i": i, "e": f"user{i}@bank.cn", "n": f"n{i}"} for i in range(1, ROWS + 1)],
        )
    yield url
    engine.dispose()


def _keyset_file(tmp_path: Path) -> tuple[Keyset, Path]:
    ks = Keyset.generate()
    path = tmp_path / "keys.json"
    path.write_text(ks.to_encrypted_json(passphrase=PASSPHRASE, iterations=100_000), encoding="utf-8")
    return ks, path


def _install_exactly_once_probe(engine: Any) -> None:
    """Log every NULL → value transition of email_enc, whoever makes it."""
    with engine.begin() as c:
        c.exec_driver_sql("ALTER TABLE customer ADD COLUMN email_enc TEXT")
        c.exec_driver_sql("ALTER TABLE customer ADD COLUMN email_bidx BIGINT")
        c.exec_driver_sql("CREATE TABLE enc_events (id INTEGER)")
        if engine.dialect.name == "sqlite":
            c.exec_driver_sql(
                "CREATE TRIGGER probe AFTER UPDATE OF email_enc ON customer "
                "WHEN OLD.email_enc IS NULL AND NEW.email_enc IS NOT NULL "
                "BEGIN INSERT INTO enc_events VALUES (NEW.id); END"
            )
        else:
            c.exec_driver_sql(
                "CREATE FUNCTION probe() RETURNS trigger AS $$ BEGIN "
                "IF OLD.email_enc IS NULL AND NEW.email_enc IS NOT NULL THEN "
                "INSERT INTO enc_events VALUES (NEW.id); END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            c.exec_driver_sql(
                "CREATE TRIGGER probe AFTER UPDATE ON customer FOR EACH ROW EXECUTE FUNCTION probe()"
            )


def _cli(url: str, keys: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "guomi.cli", "field", "migrate", url,
        "--table", "customer", "--column", "email",
        "--index", "email_bidx/8", "--keyset", str(keys), "--phase", "dual-write", *extra,
    ]  # fmt: skip


def test_sigkill_halfway_resumes_exactly_once_without_losing_app_writes(db_url: str, tmp_path: Path) -> None:
    ks, keys = _keyset_file(tmp_path)
    engine = sa.create_engine(db_url, connect_args={"timeout": 30} if db_url.startswith("sqlite") else {})
    _install_exactly_once_probe(engine)
    field = Field("customer", "email", ks, indexes=[BlindIndex("email_bidx", bits=8)])
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "GUOMI_PASSPHRASE": PASSPHRASE}

    app_writes: dict[int, str] = {}
    stop = threading.Event()

    def application() -> None:
        """Dual-write application: updates plaintext and field value together."""
        rng = random.Random(7)
        while not stop.is_set():
            i = rng.randint(1, ROWS)
            value = f"app{rng.randint(0, 10**6)}@bank.cn"
            with engine.begin() as c:
                c.execute(
                    sa.text("UPDATE customer SET email = :e, email_enc = :t, email_bidx = :h WHERE id = :i"),
                    {"e": value, "t": field.encrypt(value), "h": field.index("email_bidx", value), "i": i},
                )
            app_writes[i] = value
            time.sleep(0.005)

    writer = threading.Thread(target=application)
    writer.start()
    try:
        proc = subprocess.Popen(
            _cli(db_url, keys, "--batch", "50", "--throttle", "0.05"),
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with engine.begin() as c:
                try:
                    done = c.exec_driver_sql(  # one checkpoint per worker (2 by default off SQLite)
                        "SELECT sum(rows_done) FROM guomi_field_migrations "
                        "WHERE substr(step, 1, 10) = 'dual-write'"
                    ).scalar()
                except sa.exc.DBAPIError:
                    done = None
            if done and done >= ROWS // 3:
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        with engine.begin() as c:
            left = c.exec_driver_sql("SELECT count(*) FROM customer WHERE email_enc IS NULL").scalar_one()
        assert 0 < left < ROWS, "the kill must land halfway"
        resumed = subprocess.run(
            _cli(db_url, keys, "--batch", "200"), env=env, capture_output=True, text=True, check=False
        )
        assert resumed.returncode == 0, resumed.stderr
    finally:
        stop.set()
        writer.join()

    with engine.begin() as c:
        rows = c.exec_driver_sql("SELECT id, email, email_enc, email_bidx FROM customer ORDER BY id").all()
        events = c.exec_driver_sql("SELECT id, count(*) FROM enc_events GROUP BY id").all()
    assert len(rows) == ROWS
    assert all(n == 1 for _, n in events) and len(events) == ROWS  # every row became encrypted exactly once
    decrypted = field.decrypt_many([r[2] for r in rows])
    for (i, plain, _, bidx), value in zip(rows, decrypted, strict=True):
        assert value == plain
        assert bidx == field.index("email_bidx", plain)
        if i in app_writes:
            assert plain == app_writes[i]  # the application's last write survived
    assert app_writes, "the application wrote during the migration"


def test_full_lifecycle_rekey_reindex(db_url: str, tmp_path: Path) -> None:
    ks, _ = _keyset_file(tmp_path)
    field = Field("customer", "email", ks, indexes=[BlindIndex("email_bidx", bits=8)])
    m = ColumnMigration(db_url, field, batch_size=700)
    assert m.status().state == "plaintext"
    workers = 1 if db_url.startswith("sqlite") else 3
    assert m.dual_write(workers=workers) == ROWS
    assert m.dual_write(workers=workers) == 0  # idempotent
    with pytest.raises(InvalidArgumentError):
        m.clean()
    assert m.encrypted().state == "encrypted"
    old_key = ks.primary_id
    new_key = ks.rotate()
    assert m.rekey() == ROWS
    assert m.status().key_versions == {new_key: ROWS} and old_key != new_key
    # Reindex under the new key version with a new width; both indexes answer meanwhile.
    field2 = Field(
        "customer", "email", ks,
        indexes=[BlindIndex("email_bidx", bits=8), BlindIndex("email_bidx2", bits=12, key_id=new_key)],
    )  # fmt: skip
    m2 = ColumnMigration(db_url, field2, batch_size=700)
    assert m2.reindex("email_bidx2") == ROWS
    assert m2.clean().state == "clean"
    engine = sa.create_engine(db_url)
    with engine.begin() as c:
        rows = c.exec_driver_sql(
            "SELECT id, email_enc, email_bidx, email_bidx2 FROM customer ORDER BY id"
        ).all()
        cols = {col["name"] for col in sa.inspect(c).get_columns("customer")}
    assert "email" not in cols
    values = field2.decrypt_many([r[1] for r in rows])
    assert values == [f"user{i}@bank.cn" for i in range(1, ROWS + 1)]
    assert [r[3] for r in rows] == field2.index_many("email_bidx2", values)
    assert all(token_info(r[1]).key_id == new_key for r in rows)


def test_cli_status_and_errors(db_url: str, tmp_path: Path) -> None:
    _, keys = _keyset_file(tmp_path)
    runner = CliRunner()
    env = {"GUOMI_PASSPHRASE": PASSPHRASE}
    base = [db_url, "--table", "customer", "--column", "email", "--index", "email_ci=casefold/10"]
    r = runner.invoke(field_cli, ["migrate", *base, "--keyset", str(keys), "--phase", "dual-write"], env=env)
    assert r.exit_code == 0, r.output
    r = runner.invoke(field_cli, ["status", *base], env=env)
    assert r.exit_code == 0 and "dual-write" in r.output and str(ROWS) in r.output
    r = runner.invoke(field_cli, ["migrate", *base, "--keyset", str(keys), "--phase", "clean"], env=env)
    assert r.exit_code == 1 and "encrypted" in r.output
    r = runner.invoke(
        field_cli, ["migrate", *base, "--index", "bad=soundex", "--keyset", str(keys), "--phase", "clean"]
    )
    assert r.exit_code != 0


def test_cli_database_errors_are_one_line(tmp_path: Path) -> None:
    """A missing table or column is a one-line error naming the cause, never a traceback."""
    runner = CliRunner()
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    r = runner.invoke(field_cli, ["status", url, "--table", "customer", "--column", "email"])
    assert r.exit_code == 1, r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)
    assert "customer" in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1
