"""In-place jobs on a database server write two key ranges in parallel, each with its own
checkpoint: a failure in one range stops both, the rerun resumes each range where it
stopped, every row is processed exactly once and the checkpoints are cleared at the end."""

from __future__ import annotations

from pathlib import Path

import pytest

from guomi.bulk import Job, _transform
from guomi.fields import BlindIndex, Field
from guomi.keys import Keyset
from tests.bulk._tables import checkpoints, dump, make_table
from tests.postgres import fresh_schema_url

ROWS = 2000


def test_two_ranges_fail_resume_exactly_once(keyset: Keyset, monkeypatch: pytest.MonkeyPatch) -> None:
    url = fresh_schema_url()
    rows = make_table(url, ROWS)
    original = _transform.BatchTransform.__call__
    failed: list[int] = []

    def failing(self, batch, first_row=0):  # type: ignore[no-untyped-def]
        if first_row > 1500 and not failed:  # the second range, part-way
            failed.append(first_row)
            raise RuntimeError("killed")
        return original(self, batch, first_row)

    monkeypatch.setattr(_transform.BatchTransform, "__call__", failing)
    job = dict(table="customer", columns=["email:email_bidx"], keyring=keyset, batch_rows=100, job_id="j")
    with pytest.raises(RuntimeError):
        Job(url, workers=2, **job).run()
    saved = checkpoints(url)
    assert set(saved) <= {"j@0/2", "j@1/2"} and saved.get("j@1/2") == 500  # rows 1001..1500 done
    monkeypatch.setattr(_transform.BatchTransform, "__call__", original)
    summary = Job(url, workers=2, **job).run()
    assert summary.resumed_from + summary.rows == ROWS
    assert checkpoints(url) == {}
    email = Field("customer", "email", keyset, indexes=[BlindIndex("email_bidx")])
    after = dump(url)
    # exactly once: a twice-encrypted value would decrypt to a token, not to the plaintext
    assert email.decrypt_many([after[i][0] for i, *_ in rows]) == [e for _, e, _, _ in rows]
    assert email.index_many("email_bidx", [e for _, e, _, _ in rows]) == [after[i][3] for i, *_ in rows]


def test_sqlite_and_one_worker_use_one_range(tmp_path: Path, keyset: Keyset) -> None:
    for url, workers in ((f"sqlite:///{tmp_path / 'bank.db'}", 2), (fresh_schema_url(), 1)):
        make_table(url, 500)
        seen: list[str] = []
        job = Job(url, table="customer", columns=["email"], keyring=keyset, batch_rows=50, workers=workers)
        job.progress = lambda rows, nbytes: seen.extend(checkpoints(url))
        job.run()
        assert len(set(seen)) == 1 and "@" not in seen[0]  # one checkpoint row: one range
