"""The README's library examples run as written and print what they promise."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def library_examples() -> list[str]:
    section = README.read_text().split("## Using the core as a library", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


def test_the_readme_has_both_library_examples():
    assert len(library_examples()) == 2


def test_the_in_memory_example_books_then_reports_the_taken_slot(capsys):
    exec(compile(library_examples()[0], "README example 1", "exec"), {})  # noqa: S102
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "1 2027-03-02 14:00:00+00:00 True",
        "+442079460958",
        "slot_taken This time slot is already reserved",
        "['booking_created']",
    ]


def test_the_sql_example_migrates_and_books(tmp_path, monkeypatch: pytest.MonkeyPatch, capsys):
    monkeypatch.chdir(tmp_path)
    exec(compile(library_examples()[1], "README example 2", "exec"), {})  # noqa: S102
    assert capsys.readouterr().out.splitlines() == ["booked 1 event 1"]
    assert (tmp_path / "library-example.db").stat().st_size > 0
