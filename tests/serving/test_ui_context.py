"""What every workspace page shares, without a server: where sign-in may send a browser, which
form posts count as this site's, the page language, and the query parameters a page accepts."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from starlette.requests import Request

from scoring.store.users import Principal, UserStore
from serving.ui.context import (
    Context,
    PageError,
    Site,
    last_contact_words,
    request_lang,
    same_origin,
)
from serving.ui.signin import safe_next


def request(query: str = "", **headers: str) -> Request:
    raw = [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
    scope = {"type": "http", "method": "GET", "path": "/ui/", "query_string": query.encode()}
    return Request({**scope, "headers": raw})


def context(query: str) -> Context:
    def no_service() -> object:
        raise AssertionError("the query check needs no service")

    users = UserStore(sa.create_engine("sqlite://"))
    lead = Principal("lee", "lead", None, "token", "session")
    return Context(request(query), None, users, lead, "en", Site(no_service))


@pytest.mark.parametrize(
    ("asked", "goes"),
    [
        ("/ui/managers?period=2024-05", "/ui/managers?period=2024-05"),
        ("//evil.example/ui/", "/ui/"),
        ("https://evil.example/ui/", "/ui/"),
        ("/docs", "/ui/"),
        (None, "/ui/"),
    ],
)
def test_sign_in_sends_the_browser_only_to_workspace_paths(asked: str | None, goes: str):
    assert safe_next(asked) == goes


def test_a_form_post_is_this_sites_when_its_origin_is_this_host():
    assert same_origin(request(host="h:3000"))  # no Origin header: a same-origin form
    assert same_origin(request(origin="http://h:3000", host="h:3000"))
    assert same_origin(request(origin="https://h:3000", host="h:3000"))
    assert not same_origin(request(origin="http://evil:3000", host="h:3000"))
    assert not same_origin(request(origin="null", host="h:3000"))


def test_the_language_asked_is_remembered_and_an_unknown_one_is_english():
    assert request_lang(request("lang=zh")) == ("zh", True)
    assert request_lang(request(cookie="churn_lang=zh")) == ("zh", False)
    assert request_lang(request("lang=fr", cookie="churn_lang=xx")) == ("en", False)


def test_a_page_refuses_an_unknown_or_overlong_query_parameter():
    assert context("period=2024-05&lang=zh&x=").params({"period", "x"}) == {"period": "2024-05"}
    with pytest.raises(PageError) as unknown:
        context("period=2024-05&sort=up").params({"period"})
    assert (unknown.value.status, unknown.value.message) == (400, "unknown query parameter: sort")
    with pytest.raises(PageError) as long:
        context("period=" + "9" * 201).params({"period"})
    assert long.value.status == 400 and "longer than 200" in long.value.message


@pytest.mark.parametrize(
    ("days", "en", "zh"),
    [
        (None, "no contact on file", "暂无联系记录"),
        (float("nan"), "no contact on file", "暂无联系记录"),
        (0.0, "contacted on or after the scoring date", "评分日当天或之后已联系"),
        (1.0, "contacted 1 day ago", "1 天前联系过"),
        (55.0, "contacted 55 days ago", "55 天前联系过"),
    ],
)
def test_last_contact_reads_as_a_lead_would_say_it(days, en, zh):
    assert (last_contact_words(days, "en"), last_contact_words(days, "zh")) == (en, zh)
