"""Pure helpers of the described API: the deprecated paths' mapping, storable text, request
digests for idempotency keys, paging and the bounded id converter."""

from __future__ import annotations

import pytest
from werkzeug.exceptions import NotFound
from werkzeug.routing import Map, Rule

from expertpool.accounts.idempotency import body_digest
from expertpool.core.api import (
    BoundedIntegerConverter,
    PageQuery,
    page_meta,
    page_of,
    storable,
)
from expertpool.core.legacy import legacy_path


@pytest.mark.parametrize(
    ("path", "successor"),
    [
        ("/api/me", "/api/v1/me"),
        ("/api/projects/3/lots", "/api/v1/projects/3/lots"),
        ("/api/notifications/draws/D-1/record", "/api/v1/notifications/draws/D-1/record"),
        ("/api/v1/me", None),
        ("/api/unknown", None),
        ("/projects/3", None),
        ("/apiary", None),
    ],
)
def test_only_the_old_api_paths_have_a_successor(path: str, successor: str | None) -> None:
    assert legacy_path(path) == successor


def test_text_with_nul_or_a_lone_surrogate_is_not_storable() -> None:
    assert storable("公路 A0101")
    assert storable({"a": ["b", 1, None]})
    assert not storable("a\x00b")
    assert not storable("\ud862")
    assert not storable({"k": ["ok", "\x00"]})
    assert not storable({"\x00": "v"})


def test_json_bodies_are_compared_by_content() -> None:
    assert body_digest(b'{"a": 1, "b": [1, 2]}') == body_digest(b'{"b":[1,2],"a":1}')
    assert body_digest(b'{"a": 1}') != body_digest(b'{"a": 2}')
    assert body_digest(b"not json") == body_digest(b"not json")
    assert body_digest(b"not json") != body_digest(b"not json ")


def test_paging_answers_the_slice_and_the_next_page() -> None:
    items = list(range(5))
    first = page_of(items, PageQuery(page=1, per_page=2), lambda i: i * 10)
    assert first == {"items": [0, 10], "total": 5, "page": 1, "per_page": 2, "next_page": 2}
    last = page_of(items, PageQuery(page=3, per_page=2), lambda i: i)
    assert (last["items"], last["next_page"]) == ([4], None)
    assert page_meta(4, 2, 2)["next_page"] is None
    assert page_of(items, PageQuery(page=9, per_page=2), lambda i: i)["items"] == []


def test_ids_beyond_the_database_integer_match_no_route() -> None:
    urls = Map(
        [Rule("/p/<int:pid>", endpoint="p")], converters={"int": BoundedIntegerConverter}
    ).bind("localhost")
    assert urls.match("/p/2147483647") == ("p", {"pid": 2147483647})
    assert urls.match("/p/1999999999") == ("p", {"pid": 1999999999})
    for too_big in ("2147483648", "9999999999", "123456789012345678901234567890"):
        with pytest.raises(NotFound):
            urls.match(f"/p/{too_big}")
