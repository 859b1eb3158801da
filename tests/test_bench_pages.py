"""The address the benchmark's browser part loads a real page at: the one its sidecar says it was captured
from, when that is an http(s) address."""

import json

import pytest

from bench.common import captured_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.ferry.example/news/today", "https://www.ferry.example/news/today"),
        ("  http://ferry.example/  ", "http://ferry.example/"),
        ("xhttps://www.ferry.example/news", None),  # a slip in the capture's notes
        ("ferry.example.fixture.html", None),  # a test suite's file name, not an address
        ("https:///news", None),  # no host
        (None, None),
        (42, None),
    ],
)
def test_a_page_is_loaded_at_its_captured_address_when_it_has_one(tmp_path, url, expected):
    page = tmp_path / "ferry.html"
    page.write_text("<p>Boats run from Monday.</p>", encoding="utf-8")
    (tmp_path / "ferry.json").write_text(json.dumps({"slug": "ferry", "url": url}), encoding="utf-8")
    assert captured_url(page) == expected


def test_a_page_without_a_sidecar_has_no_address(tmp_path):
    page = tmp_path / "ferry.html"
    page.write_text("<p>Boats run from Monday.</p>", encoding="utf-8")
    assert captured_url(page) is None
