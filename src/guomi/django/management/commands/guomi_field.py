"""``manage.py guomi_field``: the column lifecycle for a Django model's encrypted field.

Layer: integration. The same steps as ``guomi field`` (``guomi.fields.ColumnMigration``:
checkpointed batches, compare-and-set writes, no model ``save()`` per row, so no signals
fire), pointed at the model's table and Django's database settings::

    manage.py guomi_field migrate app.Customer.email_enc --plaintext-column email --phase dual-write
    manage.py guomi_field migrate app.Customer.email_enc --plaintext-column email --phase encrypted
    manage.py guomi_field rekey app.Customer.email_enc
    manage.py guomi_field reindex app.Customer.email_enc --index email_bidx2
    manage.py guomi_field status app.Customer.email_enc
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.apps import apps  # type: ignore[import-untyped]
from django.core.management.base import BaseCommand, CommandError  # type: ignore[import-untyped]
from django.db import connections  # type: ignore[import-untyped]

from guomi.django._fields import EncryptedField
from guomi.exceptions import GuomiError
from guomi.fields import ColumnMigration, Field

__all__ = ["Command", "sqlalchemy_url"]


def sqlalchemy_url(alias: str) -> str:
    """The SQLAlchemy URL of a Django database (SQLite and PostgreSQL)."""
    s = connections[alias].settings_dict
    engine = s["ENGINE"]
    if engine.endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    if engine.endswith("postgresql"):
        auth = quote(s.get("USER") or "postgres")
        if s.get("PASSWORD"):
            auth += ":" + quote(s["PASSWORD"])
        host = s.get("HOST") or "localhost"
        port = f":{s['PORT']}" if s.get("PORT") else ""
        return f"postgresql+psycopg://{auth}@{host}{port}/{s['NAME']}"
    raise CommandError(f"guomi_field supports SQLite and PostgreSQL databases, not {engine}")


class Command(BaseCommand):  # type: ignore[misc]
    help = (
        "Column lifecycle of an encrypted field: migrate (dual-write/encrypted/clean), rekey, reindex, status"
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("action", choices=["migrate", "rekey", "reindex", "status"])
        parser.add_argument("target", help="app_label.Model.field (an EncryptedField)")
        parser.add_argument("--phase", choices=["dual-write", "encrypted", "clean"])
        parser.add_argument(
            "--plaintext-column", help="Column holding the plaintext (default: the Field's column)"
        )
        parser.add_argument("--index", help="Blind index to fill (reindex)")
        parser.add_argument("--batch", type=int, default=5000)
        parser.add_argument("--database", default="default")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            app_label, model_name, field_name = opts["target"].split(".")
            try:
                model = apps.get_model(app_label, model_name)
            except LookupError:
                # Models of an app not in INSTALLED_APPS are still registered here.
                model = apps.all_models[app_label][model_name.lower()]
            model_field = model._meta.get_field(field_name)
        except (ValueError, LookupError, KeyError) as exc:
            raise CommandError(f"{opts['target']}: expected app_label.Model.field ({exc})") from None
        if not isinstance(model_field, EncryptedField):
            raise CommandError(f"{opts['target']} is not a guomi EncryptedField")
        gf: Field = model_field.guomi_field
        pk = model._meta.pk.column
        # The Field's table/column name the cell in the AD; the physical table is the model's.
        physical = Field(
            model._meta.db_table, gf.column, gf.keyring, list(gf.indexes.values()), suite=gf.suite
        )
        if physical.table != gf.table:
            raise CommandError(
                f"the Field is declared for table {gf.table!r} "
                f"but the model's table is {model._meta.db_table!r}"
            )
        migration = ColumnMigration(
            sqlalchemy_url(opts["database"]),
            gf,
            plaintext_column=opts["plaintext_column"],
            encrypted_column=model_field.column,
            key=pk,
            batch_size=opts["batch"],
        )
        try:
            self._run(migration, opts)
            st = migration.status()
            self.stdout.write(
                f"{st.table}.{st.column} -> {st.encrypted_column}: {st.state}; rows {st.rows}, "
                f"plaintext only {st.plaintext_only}, field values {st.encrypted}, "
                f"key versions {st.key_versions}"
            )
        except GuomiError as exc:
            raise CommandError(str(exc)) from None

    def _run(self, migration: ColumnMigration, opts: dict[str, Any]) -> None:
        action = opts["action"]
        if action == "migrate":
            if not opts["phase"]:
                raise CommandError("migrate needs --phase dual-write|encrypted|clean")
            if opts["phase"] == "dual-write":
                n = migration.dual_write(progress=self._progress)
                self.stdout.write(f"{n} rows encrypted")
            elif opts["phase"] == "encrypted":
                migration.encrypted()
            else:
                migration.clean()
        elif action == "rekey":
            self.stdout.write(f"{migration.rekey(progress=self._progress)} values re-encrypted")
        elif action == "reindex":
            if not opts["index"]:
                raise CommandError("reindex needs --index NAME")
            self.stdout.write(f"{migration.reindex(opts['index'], progress=self._progress)} rows indexed")

    def _progress(self, done: int, total: int) -> None:
        self.stderr.write(f"\r{done}/{total} rows", ending="")
