"""Pure PyTorch: data, attacks, models, CAM, metrics, EWC, phases and the engine.

Imports only torch, torchvision, numpy, Pillow (and the shared pydantic config/events);
nothing here knows about web servers, databases or sockets.
"""
