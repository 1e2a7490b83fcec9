"""Published backdoor defences (and the retuning attack) as phase kinds: one file per kind,
each implementing the step protocol of ml/phase_api.py and registered in phase_kinds.py."""
