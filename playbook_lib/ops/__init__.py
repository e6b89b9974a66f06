"""Operations around both flows: content-addressed versions, lineage and incremental refresh.

Taught in the book's *Design principles* page of the Model–Data Operations chapter.
"""
