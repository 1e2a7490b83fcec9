"""Settings of `spectral`, spectral signatures (Tran, Li & Madry, NeurIPS 2018): the paper
removes the 1.5 ε n_c highest-scoring samples of each class, ε an upper bound on the
poisoned share. The default ε = 0.1 is the poison rate BadNets studies (and BackdoorBench's
default) use; set it to what you expect of your data."""

from __future__ import annotations

from pydantic import Field

from ..settings import KindSettings


class SpectralSettings(KindSettings):
    expected_rate: float = Field(
        0.1,
        gt=0,
        le=0.66,
        title="Expected poison rate",
        description="an upper bound on the poisoned share ε of the training set",
    )
    multiplier: float = Field(
        1.5,
        gt=0,
        le=10,
        title="Removal multiplier",
        description="flag this many times ε of every class (the paper: 1.5)",
    )
