"""Backdoor attacks: one folder per attack (`ml/attacks/<name>/`), named by its one name.

Each folder holds `__init__.py` (`ATTACK`: label, report wording, former flat field names;
torch-free), `settings.py` (its settings model; torch-free) and `trigger.py` (the trigger
and its `build`). Beside the folders:

- `attack.py`     `AttackKind`, what the registry holds of an attack
- `registry.py`   the registry (`ATTACKS`): these folders plus installed plug-ins
- `settings.py`   the base of every attack's settings model, the options the page reads
- `base.py`       `Trigger`, what every trigger is, and the pixel helpers they share
- `triggers.py`   `make_trigger`: the run's trigger from its config
- `poisoning.py`  poisoning the training set, and the ASR evaluation set

A trigger is stamped on unnormalised pixels, uint8 or float in [0, 1], and never
modifies its input. Patch triggers carry a pixel mask; for the others the trigger region
is computed per image from what they changed (ml/region.py).
"""
