"""Data-centric experiments from the book, as tested functions (issue 6)."""
