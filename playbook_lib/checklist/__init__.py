"""Machine-checkable checklists: YAML parsing (:mod:`.parse`), evaluation (:mod:`.run`) and reports (:mod:`.report`).

Taught in the book's *Production checklists* page (``notebooks/dm_09_production_checklists.ipynb``).
"""
