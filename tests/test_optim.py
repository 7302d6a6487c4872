import pytest
import torch

from companion.optim import Adam, LinearSchedule, layer_rates


def test_adam_step_equals_torch_adam_maximising():
    gen = torch.Generator().manual_seed(0)
    params = [torch.randn(3, 4, 2, generator=gen, dtype=torch.float64), torch.randn(3, 2, generator=gen, dtype=torch.float64)]
    ours = [p.clone() for p in params]
    theirs = [p.clone().requires_grad_(True) for p in params]
    lrs = [1e-2, 3e-3]
    opt = Adam(ours)
    ref = torch.optim.Adam([{"params": [t], "lr": lr} for t, lr in zip(theirs, lrs)], betas=(0.9, 0.999), eps=1e-8, maximize=True)
    for _ in range(25):
        grads = [torch.randn(p.shape, generator=gen, dtype=torch.float64) for p in params]
        opt.step(grads, lrs)
        for t, g in zip(theirs, grads):
            t.grad = g.clone()
        ref.step()
    for a, b in zip(ours, theirs):
        assert torch.allclose(a, b.detach(), rtol=0, atol=1e-12)


def test_adam_rejects_mismatched_lists():
    opt = Adam([torch.zeros(2)])
    with pytest.raises(ValueError, match="grads and lrs must each have 1 entries, got 2 and 1"):
        opt.step([torch.zeros(2), torch.zeros(2)], [0.1])


def test_linear_schedule_interpolates_then_holds():
    s = LinearSchedule(1e-2, 1e-3, duration=100)
    assert s(0) == pytest.approx(1e-2)
    assert s(50) == pytest.approx(5.5e-3)
    assert s(100) == pytest.approx(1e-3)
    assert s(10_000) == pytest.approx(1e-3)
    assert LinearSchedule(4e-2)(123) == 4e-2
    assert layer_rates([LinearSchedule(1.0), LinearSchedule(2.0)], 0) == [1.0, 1.0, 2.0, 2.0]


@pytest.mark.parametrize("args, match", [((-1.0,), "start must be a finite number at least 0, got -1.0"), ((1.0, 1.0, -5), "duration must be an integer at least 0, got -5")])
def test_bad_schedule(args, match):
    with pytest.raises(ValueError, match=match):
        LinearSchedule(*args)


def test_masked_runs_keep_parameters_and_state():
    gen = torch.Generator().manual_seed(1)
    p = torch.randn(3, 2, generator=gen, dtype=torch.float64)
    opt, solo = Adam([p]), Adam([p[1:2].clone()])
    for i in range(6):
        g = torch.randn(3, 2, generator=gen, dtype=torch.float64)
        mask = torch.tensor([True, i % 2 == 0, False])
        before = p.clone()
        opt.step([g], [0.1], mask)
        assert torch.equal(p[2], before[2])
        if mask[1]:
            solo.step([g[1:2]], [0.1])
    assert opt.t.tolist() == [6, 3, 0]
    assert torch.allclose(p[1], solo.params[0][0], rtol=0, atol=1e-14)


def test_block_adam_with_the_fused_kernel_equals_adam():
    from companion.optim import BlockAdam
    gen = torch.Generator().manual_seed(0)
    params = [torch.randn(4, 3, 2, generator=gen, dtype=torch.float64), torch.randn(4, 2, generator=gen, dtype=torch.float64)]
    ours, fused = [p.clone() for p in params], [p.clone() for p in params]
    adam, block = Adam(ours), BlockAdam(fused)
    for k in range(20):
        grads = [torch.randn(p.shape, generator=gen, dtype=torch.float64) for p in params]
        mask = torch.tensor([True, k % 3 == 0, k % 2 == 0, False])
        adam.step(grads, [1e-2, 3e-3], mask)
        block.step(grads, [1e-2, 3e-3], mask)
    for a, b, p in zip(ours, fused, params):
        assert torch.allclose(a, b, rtol=1e-12, atol=1e-14)
        assert torch.equal(a[3], p[3]) and not torch.equal(a[0], p[0])
    with pytest.raises(ValueError, match="lrs must have 2 entries \\(one per block\\), got 1"):
        block.step(grads, [1e-2], mask)
