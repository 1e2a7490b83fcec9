"""Phase kinds: one folder per kind (`ml/kinds/<name>/`), named by the kind's one name.

Each folder holds `__init__.py` (`KIND`: label, description, data needs, published recipe;
torch-free), `settings.py` (its own settings model, if it has any; torch-free) and
`step.py` (the step: a `protocol.PhaseKindImpl`). Beside the folders:

- `kind.py`      `PhaseKind`, what the registry holds of a kind
- `registry.py`  the registry (`PHASE_KINDS`): these folders plus installed plug-ins
- `settings.py`  the base of every kind's settings model and the schema the page reads
- `protocol.py`  the one step protocol every kind implements, and the shared weight update
- `finetune.py`  the clean fine-tuning step the kinds share

Adding a kind is adding a folder; nothing else changes.
"""
