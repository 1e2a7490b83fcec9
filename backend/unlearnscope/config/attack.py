"""`attack`: the backdoor attack UnlearnScope plants before a defence removes it.

`kind` is a name of the attack registry (ml/attacks/: a folder each, or a plug-in);
`settings` holds the attack's own settings, validated by its model (errors at
`attack.settings.<field>`) and stored with its defaults filled in. The flat fields of
older versions (`trigger_size`, `wanet_strength`, `sig_delta`, `ia_cross_rate`, ...) are
still read and moved into `settings`; a flat field of another attack than `kind` is
dropped, as it never had an effect.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, model_validator

from ..ml.attacks.registry import ATTACKS as ATTACK_REGISTRY
from ..ml.attacks.registry import FLAT_FIELDS
from ..ml.attacks.settings import attack_settings_class
from ..strict import Strict
from .common import known_in, listed
from .errors import normalised_settings, settings_error

ATTACKS: tuple[str, ...] = tuple(ATTACK_REGISTRY)  # the registry's names (ml/attacks/)
DEFAULT_ATTACK = "badnets"


AttackName = Annotated[
    str, known_in(ATTACK_REGISTRY, "attack"), Field(json_schema_extra=listed(ATTACK_REGISTRY))
]


class AttackConfig(Strict):
    kind: AttackName = Field(DEFAULT_ATTACK, title="Attack")
    target_class: int = Field(
        0, ge=0, le=9999, title="Target class", description="all-to-one target label"
    )
    poison_rate: float = Field(
        0.1,
        gt=0,
        lt=1,
        title="Poison rate",
        description="fraction of all training images (sig: taken from the target class)",
    )
    settings: dict[str, Any] = Field(
        {},
        title="Attack settings",
        description="the attack's own settings (docs/attacks.md)",
    )
    # A model from a file: is its trigger known? Known: `kind`, `target_class` and
    # `settings` describe it and it is stamped on the clean test set (a BackdoorBench
    # file brings its own triggered test set). Unknown: ASR, RA and TAR cannot be measured
    # until a phase recovers a trigger (Neural Cleanse). A model trained here is always known.
    known: bool = Field(
        True,
        title="Trigger known",
        description="off: nobody knows the trigger; ASR and TAR wait for a recovered one",
    )
    # A model from a checkpoint whose trigger the user stamped on the test set themselves:
    # a folder mirroring the clean test split (test/<class>/<the same file names>); each
    # triggered image is paired with its clean one, the target class is `target_class`.
    triggered_root: str | None = Field(
        None,
        min_length=1,
        max_length=500,
        title="Triggered test images",
        description="your model: test/<class>/<file> stamped with your trigger",
    )

    @model_validator(mode="before")
    @classmethod
    def _attack_settings(cls, data: Any) -> Any:
        """Move former flat fields into `settings`; validate `settings` with the attack's
        model (errors at settings.<field>) and store it normalised."""
        if not isinstance(data, dict):
            return data
        kind = data.get("kind", DEFAULT_ATTACK)
        raw = data.get("settings", {})
        if not isinstance(kind, str) or kind not in ATTACK_REGISTRY or not isinstance(raw, dict):
            return data  # refused by the kind or the settings field
        flat = ATTACK_REGISTRY[kind].flat
        moved = {flat[k]: v for k, v in data.items() if k in flat}
        both = sorted(set(moved) & set(raw))
        if both:
            raise settings_error(
                "AttackConfig",
                f"{both[0]} is given twice, as a flat field and in settings; keep one",
                ("settings", both[0]),
                raw[both[0]],
            )
        rest = {k: v for k, v in data.items() if k not in FLAT_FIELDS}
        model = attack_settings_class(kind)
        return {**rest, "settings": normalised_settings(model, {**moved, **raw}, "AttackConfig")}

    def key_fields(self) -> dict[str, Any]:
        """The fields that enter the backdoored model's cache key: kind, target class,
        poison rate and the attack's settings under their former flat names, so that the
        models cached before the settings were nested keep their keys (BadNets and
        Blended also keep the constants their keys always had). An attack without flat
        names (a plug-in) keys on its settings as they are."""
        attack = ATTACK_REGISTRY[self.kind]
        common = {"kind": self.kind, "target_class": self.target_class}
        common["poison_rate"] = self.poison_rate
        if not attack.flat:
            return {**common, "settings": self.settings}
        own = {flat: self.settings[name] for flat, name in attack.flat.items()}
        return {**common, **attack.key_constants, **own}

    def describe(self) -> str:
        """The attack in plain words ("BadNets backdoor: a 3x3-pixel checkerboard patch
        ... is stamped ... of 10% of the training images"), as the report and the
        reproduce tables say it."""
        attack = ATTACK_REGISTRY[self.kind]
        return f"{attack.label}: {attack.describe(self.settings, self.poison_rate)}"

    def check_image(self, image_size: int) -> None:
        """ValueError if the settings do not fit images of `image_size` pixels a side."""
        attack_settings_class(self.kind).model_validate(self.settings).check_image(image_size)
