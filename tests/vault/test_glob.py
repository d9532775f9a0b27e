"""Policy glob matching is linear-time (issue 10, finding 5) and agrees with fnmatch.

The old matcher compiled ``*`` to ``.*`` and let ``re`` backtrack over the
caller-chosen key name: ``*.*.*.*.*.key`` against a long run of dots took
seconds per request on the event loop.
"""

from __future__ import annotations

import fnmatch
import subprocess
import sys

from hypothesis import given
from hypothesis import strategies as st

from guomi.kms.auth import Policy, glob_match_steps, pattern_matches

# The pattern alphabet (auth.validate_pattern) has no '[', so fnmatchcase is a faithful
# reference for the documented semantics: '*' any run (also empty), '?' one character.
_CHARS = "ab.-"
patterns = st.text(alphabet=_CHARS + "*?", min_size=1, max_size=12)
names = st.text(alphabet=_CHARS, min_size=0, max_size=16)


@given(patterns, names)
def test_matches_fnmatch_reference(pattern: str, name: str) -> None:
    assert pattern_matches(pattern, name) == fnmatch.fnmatchcase(name, pattern)


@given(patterns, names)
def test_work_is_bounded_by_pattern_times_name(pattern: str, name: str) -> None:
    _, steps = glob_match_steps(pattern, name)
    assert steps <= (len(pattern) + 1) * (len(name) + 1)


@given(st.text(alphabet="ab", min_size=1, max_size=8), names)
def test_pattern_matching_itself_and_star_matching_all(literal: str, name: str) -> None:
    assert pattern_matches(literal, literal)
    assert pattern_matches("*", name)
    assert pattern_matches(literal + "*", literal + name)


def test_documented_examples() -> None:
    assert pattern_matches("orders-*", "orders-eu")
    assert not pattern_matches("orders-*", "order-eu")
    assert pattern_matches("k?", "k1") and not pattern_matches("k?", "k12")
    assert not pattern_matches("orders", "orders-eu")


def test_crafted_pattern_work_is_small() -> None:
    # The worst input the old regex met: many stars separated by a character the name
    # repeats, and a suffix that never matches.
    pattern = "*." * 20 + "key"
    name = "." * 127 + "x"
    matched, steps = glob_match_steps(pattern, name)
    assert not matched
    assert steps <= (len(pattern) + 1) * (len(name) + 1)  # about 5,600: microseconds


def test_crafted_pattern_answers_through_policy_in_a_bounded_process() -> None:
    # Runs the policy check the engine performs in a child process with a generous bound
    # (20 s, for a check that now takes microseconds; the old regex needs hours for this
    # pattern): a hang fails the test instead of hanging the suite.
    code = (
        "from guomi.kms.auth import Policy\n"
        "p = Policy.build('p', [('*.*.*.*.*.*.*.*.*.*.key', ['encrypt'])])\n"
        "assert p.capabilities_for('.' * 127 + 'x') == frozenset()\n"
        "assert p.capabilities_for('a.b.c.d.e.f.g.h.i.j.key') == {'encrypt'}\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=20)


def test_policy_uses_the_matcher() -> None:
    p = Policy.build("p", [("pay-*", ["sign"]), ("pay-?", ["verify"])])
    assert p.capabilities_for("pay-1") == {"sign", "verify"}
    assert p.capabilities_for("pay-12") == {"sign"}
    assert p.capabilities_for("payx") == frozenset()
