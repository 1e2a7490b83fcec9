"""Models: one folder per architecture (`ml/models/<name>/`: `MODEL` in `__init__.py`,
the network in `net.py`), the registry (`registry.py`, with plug-ins) and the classifier
every run uses (`classifier.py`: normalisation inside the model, the CAM layer's name).
"""
