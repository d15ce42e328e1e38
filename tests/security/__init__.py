"""Security regression suite: one module per attack class (SECURITY.md maps each item of
the checklist in docs to its test)."""
