import math

import torch
from torch import nn

from modelzoo.ml.network import CORROSION, LEVELS, CorrosionNet, count_flops, count_parameters


def _convs(model):
    return [m for m in model.modules() if isinstance(m, nn.Conv2d)]


def test_it_maps_a_batch_to_two_logits():
    model = CorrosionNet(width=4).eval()

    logits = model(torch.randn(3, 3, 64, 64))

    assert logits.shape == (3, 2)


def test_it_has_five_levels_of_two_3x3_convs_and_a_max_pool():
    model = CorrosionNet(width=4)

    assert LEVELS == 5 and len(model.levels) == 5
    for level in model.levels:
        convs = [m for m in level if isinstance(m, nn.Conv2d)]
        assert [c.kernel_size for c in convs] == [(3, 3), (3, 3)]
        assert sum(isinstance(m, nn.ReLU) for m in level) == 2
        assert isinstance(level[-1], nn.MaxPool2d) and level[-1].kernel_size == 2


def test_it_doubles_the_channel_width_per_level():
    model = CorrosionNet(width=6)

    widths = [conv.out_channels for conv in _convs(model)][::2]

    assert widths == [6, 12, 24, 48, 96]
    assert model.head.in_features == 96 and model.head.out_features == 2


def test_it_returns_the_last_feature_maps_on_request():
    model = CorrosionNet(width=4).eval()

    logits, features = model(torch.randn(2, 3, 64, 64), return_features=True)

    assert logits.shape == (2, 2)
    assert features.shape == (2, 64, 2, 2)  # 64 / 2**5 = 2


def test_it_decomposes_the_logit_difference_into_the_activation_map():
    torch.manual_seed(0)
    model = CorrosionNet(width=4).eval()
    nn.init.normal_(model.head.bias)

    with torch.no_grad():
        logits, features = model(torch.randn(2, 3, 96, 96), return_features=True)
        cam = model.class_activation_map(features)

    bias_difference = model.head.bias[CORROSION] - model.head.bias[1 - CORROSION]
    assert cam.shape == (2, 3, 3)
    assert torch.allclose(cam.mean(dim=(1, 2)) + bias_difference, logits[:, 1] - logits[:, 0], atol=1e-5)


def test_it_initialises_weights_kaiming_uniform_and_biases_zero():
    torch.manual_seed(0)
    model = CorrosionNet(width=8, batch_norm=False)

    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            fan_in = module.weight[0].numel()
            bound = math.sqrt(2.0) * math.sqrt(3.0 / fan_in)
            weight = module.weight.detach()
            assert weight.abs().max() <= bound
            # Uniform(-b, b) has std b / sqrt(3); PyTorch's default init would be 1/sqrt(6) of that.
            assert abs(weight.std().item() - bound / math.sqrt(3)) < 0.2 * bound / math.sqrt(3)
            assert torch.count_nonzero(module.bias) == 0


def test_it_counts_flops_and_parameters():
    model = CorrosionNet(width=16)

    # First conv alone: 2 * 3 * 16 * 9 * 128 * 128 multiply-adds.
    assert count_flops(model, 128) > 2 * 3 * 16 * 9 * 128 * 128
    assert 1_000_000 < count_parameters(model) < 1_300_000
    assert count_flops(model, 64) < count_flops(model, 128)


def test_it_builds_each_zoo_architecture_with_an_exact_activation_map():
    from modelzoo.ml.network import ARCHITECTURES, build_network

    for architecture in ARCHITECTURES:
        model = build_network(architecture, width=4, seed=0).eval()
        with torch.inference_mode():
            logits, features = model(torch.randn(2, 3, 64, 64), return_features=True)
            cam = model.class_activation_map(features)
        bias = model.head.bias[CORROSION] - model.head.bias[1 - CORROSION]
        assert logits.shape == (2, 2), architecture
        assert torch.allclose(cam.mean(dim=(1, 2)) + bias, logits[:, 1] - logits[:, 0], atol=1e-4), architecture


def test_it_draws_the_same_torchvision_weights_for_a_seed_without_touching_the_global_generator():
    from modelzoo.ml.network import build_network

    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    first = build_network("resnet18", seed=7)
    after = torch.rand(1)
    second = build_network("resnet18", seed=7)
    other = build_network("resnet18", seed=8)

    assert torch.equal(before, after)
    assert torch.equal(first.head.weight, second.head.weight)
    assert not torch.equal(first.head.weight, other.head.weight)


def test_it_pools_view_logits_by_max_or_mean_of_the_corrosion_margin():
    from modelzoo.ml.network import pool_view_logits

    view_logits = torch.tensor([[[0.0, 1.0], [2.0, -1.0], [0.0, 3.0]]])  # margins 1, -3, 3

    for pooling, margin in (("max", 3.0), ("mean", 1 / 3)):
        pooled = pool_view_logits(view_logits, pooling)
        assert torch.allclose(pooled[:, 1] - pooled[:, 0], torch.tensor([margin]))
