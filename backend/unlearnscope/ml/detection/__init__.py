"""Finding the poisoned samples in a training set: pure PyTorch (and scikit-learn where a
well-kept implementation exists), no engine, no events.

Each detector takes what a defender has (the training set's penultimate features, labels,
per-sample losses under the suspect model, and for SCAn a small trusted clean set) and
returns a `Detection`: a suspicion score per sample, the samples it flags, and how it
decided. None of them ever sees which samples are truly poisoned; `quality` scores a
detection against that truth afterwards, for display only.

- spectral.py    Spectral signatures (Tran, Li & Madry, NeurIPS 2018)
- clustering.py  Activation clustering (Chen et al., 2018)
- isolation.py   Anti-backdoor learning's isolation (Li et al., NeurIPS 2021)
- scan.py        SCAn, statistical contamination analysis (Tang et al., USENIX Security 2021)
"""
