"""Retrieval-augmented generation, one small module per pipeline stage.

Taught in the book's *Model–Data Operations* chapter (``notebooks/ops_06_minimal_rag.ipynb``). Import the stage
modules directly, e.g. ``from playbook_lib.embeddings.model import MiniLMEmbedder``; nothing loads at import time.
"""
