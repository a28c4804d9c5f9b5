"""The workspace's password policy: 12 characters or more, none of the 10,000 most common, not
the user's name; ``churn users add`` refuses the others and says why in plain words."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from scoring.store.passwords import common_passwords, password_problem
from scoring.store.users import UserError, UserStore


def test_the_common_list_holds_ten_thousand_passwords_without_its_note():
    found = common_passwords()
    assert len(found) == 10_000
    assert {"123456", "password", "password12", "password1234"} <= found
    assert not any(p.startswith("# ") for p in found)


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("aaaaaaaaaa", "it has 10 characters; use at least 12"),
        ("password12", "it has 10 characters; use at least 12"),
        ("Password1234", "one of the 10,000 most common passwords"),
        ("my-name-is-MONA-ok", "contains the user name"),
    ],
)
def test_a_weak_password_is_refused_with_the_reason(password: str, why: str):
    problem = password_problem("mona", password)
    assert problem is not None and why in problem


def test_a_long_uncommon_password_without_the_name_is_accepted():
    assert password_problem("mona", "correct-horse-battery") is None
    users = UserStore(sa.create_engine("sqlite://"))
    with pytest.raises(UserError, match="password refused: it has 10 characters"):
        users.add("mona", "lead", "aaaaaaaaaa")
    assert users.add("mona", "lead", "correct-horse-battery").name == "mona"


def test_churn_users_add_says_why_it_refuses_a_password(tmp_path: Path):
    from churn.cli import register_commands

    store = f"sqlite:///{tmp_path / 'serving.db'}"
    app = register_commands()
    args = ["users", "add", "lee", "--role", "lead", "--password-stdin", "--store", store]
    refused = CliRunner().invoke(app, args, input="password1234\n", prog_name="churn")
    text = " ".join(refused.output.split())
    assert refused.exit_code != 0 and "most common passwords" in text, refused.output
    refused = CliRunner().invoke(app, args, input="lee-lee-lee-lee\n", prog_name="churn")
    assert refused.exit_code != 0 and "contains the user name" in " ".join(refused.output.split())
    done = CliRunner().invoke(app, args, input="a quiet blue lantern\n", prog_name="churn")
    assert done.exit_code == 0 and "user lee added" in done.output, done.output
