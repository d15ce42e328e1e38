"""annotations.core.discussion: plain text made safe HTML, mentions, notification titles.
Pure Python, no database."""

from __future__ import annotations

import html
from html.parser import HTMLParser

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from annotations.core.discussion import (
    LINK_REL,
    MAX_MENTIONS,
    link_segments,
    linkify,
    mentioned_usernames,
    notification_actor,
    notification_title,
)

pytestmark = pytest.mark.db_independent


class _Reader(HTMLParser):
    """Everything ``linkify``'s output holds: its tags with their attributes, and its text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.ends: list[str] = []
        self.text: list[str] = []
        self.link_text: list[str] = []
        self._in_link = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_link = tag == "a"

    def handle_endtag(self, tag: str) -> None:
        self.ends.append(tag)
        self._in_link = False

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._in_link:
            self.link_text.append(data)

    def handle_comment(self, data: str) -> None:  # pragma: no cover - must never happen
        raise AssertionError(f"comment in output: {data!r}")


def _read(markup: str) -> _Reader:
    reader = _Reader()
    reader.feed(markup)
    reader.close()
    return reader


# Text with the characters that matter to HTML and to URLs, and addresses of every scheme.
TEXT = st.lists(
    st.one_of(
        st.text(max_size=20),
        st.sampled_from(
            [
                "<script>alert(1)</script>",
                '"><img src=x onerror=alert(1)>',
                "&amp;",
                "&lt;",
                "javascript:alert(1)",
                "JaVaScRiPt://x",
                "data:text/html,<b>x</b>",
                "https://a.example/x?a=1&b=<2>",
                'http://a.example/"onmouseover="x',
                "HTTPS://B.EXAMPLE/Path",
                "(see https://c.example/wiki/A_(b))",
                "ftp://files.example/",
                "http://",
                "https://d.example/.",
                " ",
                "\n",
                "@reviewer_a",
            ]
        ),
    ),
    max_size=8,
).map("".join)


@given(TEXT)
@example("<b>bold</b> & 'quoted' \"double\"")
@example("javascript:alert(1) https://ok.example/")
@example("\x00\x01 https://a.example/\x7f")
def test_linkify_escapes_everything_and_links_only_http_and_https(text: str) -> None:
    markup = linkify(text)
    reader = _read(markup)
    # Nothing but links; each with exactly href and rel, to an http(s) address.
    assert all(tag == "a" for tag, _ in reader.tags)
    assert reader.ends == ["a"] * len(reader.tags)
    for _, attrs in reader.tags:
        assert set(attrs) == {"href", "rel"}
        assert attrs["rel"] == LINK_REL
        href = attrs["href"] or ""
        assert href.lower().startswith(("http://", "https://"))
        assert not any(ch in href for ch in ' <>"\n')
    # The text reads back exactly as typed: nothing dropped, nothing interpreted.
    assert "".join(reader.text) == text
    # Outside the tags the workbench writes, no markup character is left unescaped.
    stripped = markup
    for _, attrs in reader.tags:
        stripped = stripped.replace(
            f'<a href="{html.escape(attrs["href"] or "", quote=True)}" rel="{LINK_REL}">', "", 1
        )
    stripped = stripped.replace("</a>", "")
    assert "<" not in stripped and ">" not in stripped and '"' not in stripped


@given(TEXT)
def test_segments_give_the_text_back_and_links_are_their_own_text(text: str) -> None:
    segments = link_segments(text)
    assert "".join(segment.text for segment in segments) == text
    for segment in segments:
        if segment.url is not None:
            assert segment.url == segment.text
            assert segment.url.lower().startswith(("http://", "https://"))


@pytest.mark.parametrize(
    ("text", "links"),
    [
        ("see https://a.example/x.", ["https://a.example/x"]),
        ("(see https://a.example/wiki/A_(b))", ["https://a.example/wiki/A_(b)"]),
        (
            "HTTP://A.EXAMPLE and http://b.example/?q=1&r=2,",
            ["HTTP://A.EXAMPLE", "http://b.example/?q=1&r=2"],
        ),
        ("javascript:alert(1) data:x ftp://f.example/ mailto:a@b.example", []),
        ("xhttps://a.example/", []),
        ("https:// nothing", []),
        ('<a href="https://a.example/">', ["https://a.example/"]),
        # Only public sites (urlnorm.check_public_url): a click on an internal address
        # would reach the reader's own machine or network.
        (
            "http://127.0.0.1/admin/ http://localhost/ http://10.0.0.1/ https://a.example/",
            ["https://a.example/"],
        ),
        ("http://[::1]/ http://0x7f.1/ http://169.254.169.254/latest/ http://x.localhost/", []),
        ("https://user:pass@a.example/", []),
    ],
)
def test_which_addresses_become_links(text: str, links: list[str]) -> None:
    assert [s.url for s in link_segments(text) if s.url] == links


def test_a_host_the_fetcher_may_reach_is_linked_when_allowed() -> None:
    text = "http://wiki.intranet.example/ and http://10.0.0.1/"
    assert [s.url for s in link_segments(text) if s.url] == ["http://wiki.intranet.example/"]
    allowed = link_segments(text, allowed_hosts=["10.0.0.1"])
    assert [s.url for s in allowed if s.url] == [
        "http://wiki.intranet.example/",
        "http://10.0.0.1/",
    ]
    assert "".join(s.text for s in allowed) == text


def test_an_internal_address_is_escaped_text() -> None:
    assert linkify('http://127.0.0.1/"><b>x') == "http://127.0.0.1/&quot;&gt;&lt;b&gt;x"


def test_a_link_is_escaped_in_its_href_and_its_text() -> None:
    assert linkify("https://a.example/?a=1&b=2 <x>") == (
        f'<a href="https://a.example/?a=1&amp;b=2" rel="{LINK_REL}">'
        "https://a.example/?a=1&amp;b=2</a> &lt;x&gt;"
    )


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("@alice and @bob", ["alice", "bob"]),
        ("@alice @Alice @alice.", ["alice"]),
        ("mail alice@example.org, not a mention", []),
        ("(@carol) @dave, @e.f-g+h_i!", ["carol", "dave", "e.f-g+h_i"]),
        ("@ alone, @@x", []),
        ("end of sentence @zoe.", ["zoe"]),
    ],
)
def test_mentions(text: str, names: list[str]) -> None:
    assert mentioned_usernames(text) == names


def test_mentions_are_capped() -> None:
    text = " ".join(f"@user{i}" for i in range(MAX_MENTIONS + 10))
    assert len(mentioned_usernames(text)) == MAX_MENTIONS


@given(st.text(max_size=200))
def test_mentions_are_distinct_names_that_occur_in_the_text(text: str) -> None:
    names = mentioned_usernames(text)
    assert len({n.casefold() for n in names}) == len(names)
    for name in names:
        assert f"@{name}" in text


def test_notification_titles_name_no_rating() -> None:
    for kind in ("mentioned", "assigned", "disputed", "decided", "published", "lease_expiring"):
        title = notification_title(kind=kind, actor="alice", claim_id=7)
        assert "7" in title
        for rating in ("true", "false", "misleading"):
            assert rating not in title.lower().split()
    assert notification_title(kind="mentioned", actor="", claim_id=3).startswith("Someone")


def test_only_the_notices_that_name_who_acted_show_them() -> None:
    """A mention names its author and an assignment its editor; a status notice names
    nobody, so a claim's creator does not learn from "decided" which reviewer judged it."""
    for kind in ("mentioned", "assigned"):
        assert notification_actor(kind=kind, actor="alice") == "alice"
        assert "alice" in notification_title(kind=kind, actor="alice", claim_id=7)
    for kind in ("disputed", "decided", "published", "lease_expiring", "unknown"):
        assert notification_actor(kind=kind, actor="alice") is None
        assert "alice" not in notification_title(kind=kind, actor="alice", claim_id=7)
    assert notification_actor(kind="mentioned", actor=None) is None
