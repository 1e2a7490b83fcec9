"""Known answers for Adversarial Neuron Pruning and fine-pruning: a planted backdoor neuron."""

from __future__ import annotations

import copy

import torch
from planted_backdoor import BACKDOOR_CHANNEL, PlantedNet, accuracy, asr, clean_data

from unlearnscope.ml.kinds.anp import step as anp
from unlearnscope.ml.kinds.fineprune import step as pruning


def _run_anp(net: PlantedNet, steps: int = 150) -> anp.NeuronMasks:
    x, y = clean_data(400, seed=1)
    masks = anp.NeuronMasks.attach(net)
    opt = torch.optim.SGD(masks.masks(), lr=0.2, momentum=0.9)
    gen = torch.Generator().manual_seed(0)
    for _ in range(steps):
        idx = torch.randint(len(x), (64,), generator=gen)
        anp.anp_step(net, masks, opt, x[idx], y[idx], eps=0.4, alpha=0.2, anp_steps=1, gen=gen)
    return masks


def test_anp_masks_out_the_planted_backdoor_neuron_and_pruning_removes_the_backdoor() -> None:
    net = PlantedNet(dormancy=2.5)  # silent on clean data, but close to firing
    x, y = clean_data(300, seed=2)
    assert accuracy(net, x, y) > 95 and asr(net, x, y) == 100.0
    start = copy.deepcopy(net.state_dict())
    masks = _run_anp(net)
    values = masks.masks()[0].detach()
    assert values[BACKDOOR_CHANNEL] < 0.2  # the backdoor neuron's mask went to ~0
    assert (values[:BACKDOOR_CHANNEL] > 0.8).all()  # the clean neurons stay
    # the mask phase never touched the model's parameters or buffers
    for name, tensor in net.state_dict().items():
        torch.testing.assert_close(tensor, start[name], msg=name)
    pruned = masks.below(0.2)
    assert pruned == {"bn": [BACKDOOR_CHANNEL]}
    masks.detach()
    assert anp.prune_neurons(net, pruned) == 1
    assert net.bn.weight[BACKDOOR_CHANNEL] == 0
    assert asr(net, x, y) == 0.0 and accuracy(net, x, y) > 95


def test_anp_without_perturbation_leaves_a_dormant_backdoor_alone() -> None:
    """The perturbation is what exposes the backdoor neuron: with eps = 0 only the clean
    loss acts, and a neuron that is silent on clean data gets no gradient."""
    net = PlantedNet(dormancy=2.5)
    x, y = clean_data(200, seed=1)
    masks = anp.NeuronMasks.attach(net)
    opt = torch.optim.SGD(masks.masks(), lr=0.2, momentum=0.9)
    gen = torch.Generator().manual_seed(0)
    for _ in range(50):
        anp.anp_step(net, masks, opt, x[:64], y[:64], eps=0.0, alpha=0.2, anp_steps=1, gen=gen)
    assert masks.below(0.2) == {"bn": []}


def test_neuron_masks_hooks_compute_the_masked_batchnorm_and_detach_cleanly() -> None:
    """Enabled, the hooks give BatchNorm with the batch's statistics (as the reference's
    train mode) and gamma scaled by the mask; the running statistics never change."""
    net = PlantedNet(dormancy=2.5)
    x, _ = clean_data(32)
    before = net(x)
    buffers = copy.deepcopy(dict(net.named_buffers()))

    def batch_stats_model(gamma_zero: bool) -> torch.Tensor:
        ref = copy.deepcopy(net).train()
        with torch.no_grad():
            if gamma_zero:
                ref.bn.weight[BACKDOOR_CHANNEL] = 0.0
            return ref(x)

    masks = anp.NeuronMasks.attach(net)
    torch.testing.assert_close(net(x), batch_stats_model(False))  # mask 1: BN, batch stats
    with torch.no_grad():
        masks.masks()[0][BACKDOOR_CHANNEL] = 0.0
    torch.testing.assert_close(net(x), batch_stats_model(True))  # mask 0 == gamma 0
    masks.enabled = False
    torch.testing.assert_close(net(x), before)  # disabled: the model itself
    masks.detach()
    torch.testing.assert_close(net(x), before)  # hooks gone
    for name, tensor in net.named_buffers():
        torch.testing.assert_close(tensor, buffers[name], msg=name)


def test_histogram_counts_every_mask_value() -> None:
    edges, counts = anp.histogram(torch.tensor([0.0, 0.05, 0.5, 1.0, 1.0]), bins=10)
    assert len(edges) == 11 and len(counts) == 10
    assert sum(counts) == 5 and counts[0] == 2 and counts[-1] == 2


def test_fine_pruning_prunes_the_dormant_backdoor_channel_first_and_stops_at_the_drop() -> None:
    net = PlantedNet(dormancy=10.0)  # completely silent on clean data
    x, y = clean_data(400, seed=3)
    plan = pruning.plan_pruning(net, x[:200], x[200:], y[200:], max_acc_drop=4.0, max_ratio=1.0)
    assert plan.order[0] == BACKDOOR_CHANNEL
    assert plan.pruned == [BACKDOOR_CHANNEL]  # the next channel costs a whole class
    assert plan.accuracy_after >= plan.accuracy_before - 4.0
    assert plan.curve[2] < plan.accuracy_before - 4.0
    pruning.prune_channels(net, plan.pruned)
    assert asr(net, x, y) == 0.0 and accuracy(net, x, y) > 95


def test_fine_pruning_respects_the_largest_ratio() -> None:
    net = PlantedNet(dormancy=10.0)
    x, y = clean_data(200, seed=3)
    plan = pruning.plan_pruning(net, x, x, y, max_acc_drop=100.0, max_ratio=0.5)
    assert len(plan.pruned) == 2  # half of the 4 channels, although accuracy may fall
    assert len(plan.activation) == 4


def test_keep_pruned_re_zeroes_after_an_update() -> None:
    net = PlantedNet(dormancy=10.0)
    pruning.prune_channels(net, [BACKDOOR_CHANNEL])
    with torch.no_grad():
        net.fc.weight += 1.0  # what a fine-tuning step could do
    pruning.keep_pruned(net, [BACKDOOR_CHANNEL])
    assert (net.fc.weight[:, BACKDOOR_CHANNEL] == 0).all()
    assert (net.fc.weight[:, 0] != 0).all()
