"""Text in the core: personal data and secrets (:mod:`~playbook_lib.text.pii`), masking before anything is shown
(:mod:`~playbook_lib.text.masking`), normal forms and previews (:mod:`~playbook_lib.text.normal`), and the one-pass
multi-pattern scanner (:mod:`~playbook_lib.text.scan`). Imports only :mod:`playbook_lib.errors` and
:mod:`playbook_lib.settings`."""
