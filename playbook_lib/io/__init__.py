"""Core layer ``io``: reading records from files and writing outputs without ever touching an input.

Above ``errors`` and ``settings``; below everything else. :mod:`playbook_lib.io.outputs` holds the one atomic
writer, :mod:`playbook_lib.io.jsonl` the hostile-input-safe record readers, :mod:`playbook_lib.io.digest` the content
hashes that name versions and cache entries.
"""
