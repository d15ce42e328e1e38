"""The pure core of Workbench: plain Python, no Django, nothing of the app outside ``core``.

spans           canonical text, code-point selectors, validation, segmentation, UTF-16 <-> code points
consensus       consensus rules (unanimous, qualified majority), Krippendorff's alpha, agreement
reanchor        re-anchoring spans on a corrected text (diff + quote + context)
passages        finding a quote, or the nearest passages, in a text
urlnorm         http(s)-only URL checks and normalization
fetching        the safe URL fetcher (SSRF defences, pinned address, limits)
cleaning        cleaning scraped plain text (what to take out, and the report of it)
junk            what scraped junk looks like, line by line (CSS, scripts, feed footers, headlines)
jsonl           parsing JSONL document batches line by line
htmlpage        a web page's main text and declared metadata
evidence        a project's evidence policy: the rules a verdict's citations must meet
export_mapping  native-export schema checks, ClaimReview and Web Annotation mapping, safe JSON

The import contracts in ``pyproject.toml`` (``./wb lint``) keep it that way.
"""
