"""Core layer ``config``: bounded, safe YAML loading and the one file:line validator for every YAML the project
reads (checklists, plans, requirement profiles, model catalogues)."""
