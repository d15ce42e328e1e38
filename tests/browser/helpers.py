"""Shared steps of the browser tests: selecting document text the way a user's drag does."""

from __future__ import annotations

# Select ``needle`` inside the reader's text by UTF-16 index, as the browser counts: the
# text nodes of the paragraphs are concatenated (the "\n" between lines belongs to no
# paragraph, so a needle must lie within one line) and the match becomes a DOM Range.
# This deliberately knows nothing about code points: converting to them is the reader's job.
# Returns what the browser reports as selected, or null if the needle is missing or not
# unique.
_SELECT_JS = """(needle) => {
  const container = document.getElementById("document-text");
  const walker = document.createTreeWalker(container, NodeFilter.SHOW_TEXT);
  const nodes = [];
  let full = "";
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.parentElement.closest("p[data-start]")) continue;
    nodes.push([node, full.length]);
    full += node.data;
  }
  const at = full.indexOf(needle);
  if (at < 0 || full.indexOf(needle, at + 1) >= 0) return null;
  // A start on a node boundary goes to the next node, an end to the previous one.
  const locate = (index, isEnd) => {
    for (const [node, offset] of nodes) {
      const stop = offset + node.data.length;
      if (isEnd ? index <= stop : index < stop) return [node, index - offset];
    }
    return null;
  };
  const [startNode, startOffset] = locate(at, false);
  const [endNode, endOffset] = locate(at + needle.length, true);
  const range = document.createRange();
  range.setStart(startNode, startOffset);
  range.setEnd(endNode, endOffset);
  const selection = document.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
  return selection.toString();
}"""


def select_text(page, needle: str) -> None:
    """Select ``needle`` in #document-text and wait for the reader's selection bar."""
    selected = page.evaluate(_SELECT_JS, needle)
    assert selected == needle, f"could not select {needle!r} (got {selected!r})"
    page.wait_for_selector("#selection-bar:not([hidden])")


def claim_selection(page, statement: str) -> None:
    """Press "Claim this" for the current selection, write the statement, create the claim."""
    page.click("#claim-this")
    page.wait_for_selector("#claim-form textarea")
    page.fill("#id_statement", statement)
    page.click("#claim-form button[type=submit]")
    # On success the whole reader is swapped: the form goes, the new claim is selected.
    page.wait_for_selector("#claim-form", state="detached")
    page.wait_for_selector("#claim-list [data-claim-id].is-selected")


def track_http_errors(page) -> list[str]:
    """Collect responses with status >= 400 (a broken static file, a server error)."""
    failures: list[str] = []
    page.on(
        "response",
        lambda response: (
            failures.append(f"{response.status} {response.url}") if response.status >= 400 else None
        ),
    )
    return failures
