"""``python -m playbook_lib`` runs the ``playbook`` CLI."""

import sys

from playbook_lib.cli import main

sys.exit(main())
