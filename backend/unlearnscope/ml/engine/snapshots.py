"""Weight snapshots handed from the training loop to a concurrent monitor.

The engine publishes the model's weights and buffers at a step boundary; the monitor takes
the newest snapshot (older ones it has not started are stale and skipped), copies it into
its own model and releases it. A snapshot is written into a slot nobody reads and becomes
visible only once complete, so the monitor never sees a half-updated model, and the engine
never waits: with three slots there is always one it may overwrite.

Snapshots marked `keep` (the steps at which ASR/CA are due) are not skipped as stale: the
monitor takes them oldest first, so a measurement interval holds even when it lags behind
(a small monitoring budget makes it lag: the exact ASR/CA arrive late, never not at all).
When every slot holds a kept snapshot the buffer grows by a slot, up to MAX_KEPT_BYTES of
snapshots; only beyond that does the oldest kept one give way (counted in `dropped`).
Slots beyond `slots` are given back once read.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from enum import Enum

import torch
from torch import nn

SLOTS = 3
MAX_KEPT_BYTES = 1 << 30  # kept snapshots waiting for the monitor, at most (1 GiB)
MAX_SLOTS = 1000


class SlotState(Enum):
    FREE = "free"
    WRITING = "writing"
    READY = "ready"
    READING = "reading"


@dataclass
class Snapshot:
    tensors: list[torch.Tensor]  # in `model.state_dict()` order
    state: SlotState = SlotState.FREE
    step: int = -1
    phase_index: int = 0
    keep: bool = False
    # CUDA: copies are queued on streams, so the states alone do not order them.
    # ready_event: recorded after the write (training stream); the reader waits on it.
    # free_event: recorded after the read (monitor stream); the next write waits on it.
    ready_event: torch.cuda.Event | None = field(default=None, repr=False)
    free_event: torch.cuda.Event | None = field(default=None, repr=False)


def state_tensors(model: nn.Module) -> list[torch.Tensor]:
    """The model's parameters and buffers, as the tensors themselves (no copy)."""
    return list(model.state_dict(keep_vars=False).values())


class SnapshotBuffer:
    def __init__(self, model: nn.Module, slots: int = SLOTS) -> None:
        if slots < 2:
            raise ValueError("a snapshot buffer needs at least two slots")
        template = state_tensors(model)
        self.slots = [Snapshot([t.detach().clone() for t in template]) for _ in range(slots)]
        self.base_slots = slots
        size = sum(t.numel() * t.element_size() for t in template)
        self.max_slots = max(slots, min(MAX_SLOTS, MAX_KEPT_BYTES // max(1, size)))
        self._cond = threading.Condition()
        self.published = 0
        self.taken = 0
        self.skipped = 0  # stale snapshots the monitor never started
        self.dropped = 0  # kept snapshots overwritten before the monitor reached them
        self.closed = False

    # -- the training side ---------------------------------------------------------------
    def _claim(self) -> Snapshot:
        """A slot to write (under the lock): free, else the oldest unkept ready one."""
        free = [s for s in self.slots if s.state is SlotState.FREE]
        if free:
            return free[0]
        ready = sorted(
            (s for s in self.slots if s.state is SlotState.READY), key=lambda s: (s.keep, s.step)
        )
        if not ready:  # cannot happen with >= 2 slots and one reader
            raise RuntimeError("no snapshot slot is free")
        victim = ready[0]
        if victim.keep and len(self.slots) < self.max_slots:  # all kept: one more slot
            extra = Snapshot([t.clone() for t in victim.tensors])
            self.slots.append(extra)
            return extra
        if victim.keep:
            self.dropped += 1
        else:
            self.skipped += 1
        return victim

    def publish(self, model: nn.Module, step: int, phase_index: int, keep: bool = False) -> None:
        """Copy the model's current weights into a slot; never waits for the reader."""
        with self._cond:
            slot = self._claim()
            slot.state = SlotState.WRITING
        if slot.free_event is not None:
            torch.cuda.current_stream().wait_event(slot.free_event)
        with torch.no_grad():
            torch._foreach_copy_(slot.tensors, state_tensors(model))
        event = None
        if slot.tensors and slot.tensors[0].is_cuda:
            event = torch.cuda.Event()
            event.record()
        with self._cond:
            slot.step, slot.phase_index, slot.keep = step, phase_index, keep
            slot.ready_event = event
            slot.state = SlotState.READY
            self.published += 1
            self._cond.notify_all()

    # -- the monitor side ----------------------------------------------------------------
    def take(self, timeout: float | None = None) -> Snapshot | None:
        """The next snapshot to measure, marked as being read; None on timeout or close.

        Kept snapshots come first, oldest first; otherwise the newest, and every older
        unkept one is skipped as stale.
        """
        with self._cond:
            if not self._cond.wait_for(self._has_ready, timeout):
                return None
            ready = [s for s in self.slots if s.state is SlotState.READY]
            if not ready:  # closed, and nothing left to measure
                return None
            kept = sorted((s for s in ready if s.keep), key=lambda s: s.step)
            chosen = kept[0] if kept else max(ready, key=lambda s: s.step)
            for s in ready:
                if s is not chosen and not s.keep and s.step < chosen.step:
                    s.state = SlotState.FREE
                    self.skipped += 1
            chosen.state = SlotState.READING
            self.taken += 1
            return chosen

    def load_into(self, snap: Snapshot, model: nn.Module) -> None:
        """Copy a taken snapshot into `model`, then give the slot back."""
        if snap.ready_event is not None:
            torch.cuda.current_stream().wait_event(snap.ready_event)
        with torch.no_grad():
            torch._foreach_copy_(state_tensors(model), snap.tensors)
        if snap.tensors and snap.tensors[0].is_cuda:
            snap.free_event = torch.cuda.Event()
            snap.free_event.record()
        self.release(snap)

    def release(self, snap: Snapshot) -> None:
        with self._cond:
            snap.state = SlotState.FREE
            extra = len(self.slots) > self.base_slots
            if extra and (snap.free_event is None or snap.free_event.query()):
                # by identity (a pending CUDA read keeps it until next time)
                self.slots = [s for s in self.slots if s is not snap]
            self._cond.notify_all()

    def kept_steps(self) -> list[int]:
        """The steps of kept snapshots not yet measured (being read included), oldest first."""
        with self._cond:
            waiting = (SlotState.READY, SlotState.READING)
            return sorted(s.step for s in self.slots if s.keep and s.state in waiting)

    def _has_ready(self) -> bool:
        return self.closed or any(s.state is SlotState.READY for s in self.slots)

    def pending(self) -> int:
        """Snapshots published but not yet taken or skipped."""
        with self._cond:
            return sum(s.state is SlotState.READY for s in self.slots)

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()
