"""guomi.django on SQLite and PostgreSQL: filter(email=...), __iexact, __in with narrow
indexes and re-check; unsupported lookups raise FieldError; no plaintext in the table."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import pytest

django = pytest.importorskip("django")

from django.conf import settings  # noqa: E402


def _databases() -> dict[str, Any]:
    dbs: dict[str, Any] = {
        "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
        # A file database for the management command, which reaches it through SQLAlchemy.
        "file": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.path.join(tempfile.mkdtemp(), "dj.sqlite"),
        },
    }
    url = os.environ.get("GUOMI_TEST_POSTGRES_URL")
    if url:
        u = urlparse(url)
        dbs["pg"] = {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": u.path.lstrip("/"),
            "USER": u.username or "postgres",
            "HOST": u.hostname,
            "PORT": u.port,
        }
    return dbs


if not settings.configured:
    settings.configure(
        DATABASES=_databases(),
        INSTALLED_APPS=["guomi.django"],
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        USE_TZ=True,
    )
    django.setup()

from django.core.exceptions import FieldError  # noqa: E402
from django.db import connections, models  # noqa: E402
from django.db.models import Q  # noqa: E402

from guomi.django import BlindIndexField, EncryptedCharField, EncryptedIntegerField  # noqa: E402
from guomi.fields import BlindIndex, Field  # noqa: E402
from guomi.keys import Keyset  # noqa: E402

KEYSET = Keyset.generate()
email = Field(
    "tests_djcustomer",
    "email",
    KEYSET,
    indexes=[BlindIndex("email_bidx", bits=3), BlindIndex("email_ci", "casefold", bits=3)],
)
score = Field("tests_djcustomer", "score", KEYSET, indexes=[BlindIndex("score_bidx", bits=2)])


class DjCustomer(models.Model):
    email = EncryptedCharField(field=email)
    email_bidx = BlindIndexField(source="email", index="email_bidx")
    email_ci = BlindIndexField(source="email", index="email_ci")
    score = EncryptedIntegerField(field=score, null=True)
    score_bidx = BlindIndexField(source="score", index="score_bidx")

    class Meta:
        app_label = "tests"
        db_table = "tests_djcustomer"


EMAILS = [f"User{i}@Bank.cn" for i in range(40)]


@pytest.fixture(params=["sqlite", "postgresql"])
def objects(request: pytest.FixtureRequest) -> Iterator[Any]:
    alias = "default"
    if request.param == "postgresql":
        from tests.postgres import postgres_url  # noqa: PLC0415

        postgres_url()  # skips locally / fails in CI when there is no server
        alias = "pg"
    conn = connections[alias]
    with conn.schema_editor() as editor:
        editor.execute("DROP TABLE IF EXISTS tests_djcustomer")
        editor.create_model(DjCustomer)
    manager = DjCustomer.objects.db_manager(alias)
    manager.bulk_create(DjCustomer(email=e, score=i) for i, e in enumerate(EMAILS))
    yield manager
    with conn.schema_editor() as editor:
        editor.delete_model(DjCustomer)


def test_equality_iexact_in_are_exact(objects: Any) -> None:
    h = email.index("email_bidx", EMAILS[5])
    assert objects.filter(email_bidx=h).count() > 1  # narrow index: false positives in SQL
    assert [c.email for c in objects.filter(email=EMAILS[5])] == [EMAILS[5]]
    assert objects.filter(email=EMAILS[5]).count() == 1
    assert objects.filter(email__iexact="user7@BANK.cn").get().email == EMAILS[7]
    got = sorted(c.email for c in objects.filter(email__in=[EMAILS[1], EMAILS[2], "x@y.cn"]))
    assert got == [EMAILS[1], EMAILS[2]]
    assert not objects.filter(email="nobody@bank.cn").exists()
    assert objects.filter(score=3).get().email == EMAILS[3]
    assert list(objects.filter(email=EMAILS[9]).values("id", "email")) == [
        {"id": objects.get(email=EMAILS[9]).id, "email": EMAILS[9]}
    ]


def test_unsupported_lookups_raise_field_error(objects: Any) -> None:
    for lookup in ("contains", "startswith", "lt", "icontains", "endswith"):
        with pytest.raises(FieldError, match="Unsupported lookup"):
            list(objects.filter(**{f"email__{lookup}": "x"}))
    with pytest.raises(FieldError, match="OR or exclude"):
        list(objects.exclude(email=EMAILS[0]))
    with pytest.raises(FieldError, match="OR or exclude"):
        list(objects.filter(Q(email=EMAILS[0]) | Q(id=3)))


def test_save_update_keep_indexes(objects: Any) -> None:
    c = objects.get(email=EMAILS[3])
    c.email = "new@bank.cn"
    c.save()
    assert objects.get(email="new@bank.cn").pk == c.pk
    objects.filter(pk=c.pk).update(email="upd@bank.cn")
    assert objects.get(email="upd@bank.cn").pk == c.pk
    assert not objects.filter(email="new@bank.cn").exists()


def test_table_holds_no_plaintext(objects: Any) -> None:
    with connections[objects.db].cursor() as cur:
        cur.execute("SELECT * FROM tests_djcustomer")
        dump = repr(cur.fetchall())
    assert "gm1." in dump
    for e in EMAILS:
        assert e not in dump


class DjLegacy(models.Model):
    """A model in the middle of a migration: plaintext email, field values in email_enc."""

    email = models.TextField(null=True)
    email_enc = EncryptedCharField(field=Field("tests_djlegacy", "email", KEYSET), null=True)

    class Meta:
        app_label = "tests"
        db_table = "tests_djlegacy"


def test_management_command_lifecycle(tmp_path: Any) -> None:
    from django.core.management import call_command  # noqa: PLC0415

    conn = connections["file"]
    with conn.schema_editor() as editor:
        editor.execute("DROP TABLE IF EXISTS tests_djlegacy")
        editor.create_model(DjLegacy)
    DjLegacy.objects.db_manager("file").bulk_create(DjLegacy(email=f"u{i}@b.cn") for i in range(300))
    out = call_command(
        "guomi_field", "migrate", "tests.DjLegacy.email_enc", "--plaintext-column", "email",
        "--phase", "dual-write", "--batch", "70", "--database", "file",
    )  # fmt: skip
    assert out is None
    objs = DjLegacy.objects.db_manager("file")
    assert all(o.email == o.email_enc for o in objs.all())
    call_command(
        "guomi_field", "migrate", "tests.DjLegacy.email_enc", "--plaintext-column", "email",
        "--phase", "encrypted", "--database", "file",
    )  # fmt: skip
    KEYSET.rotate()
    call_command(
        "guomi_field",
        "rekey",
        "tests.DjLegacy.email_enc",
        "--plaintext-column",
        "email",
        "--database",
        "file",
    )
    assert {o.email_enc for o in objs.all()} == {f"u{i}@b.cn" for i in range(300)}
    with conn.schema_editor() as editor:
        editor.delete_model(DjLegacy)
