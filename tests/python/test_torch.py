"""slimc.from_torch: a PyTorch module through torch.onnx.export, against torch's output.
Skipped, saying so, where torch is not importable (Debian's python3-torch is seen by a
venv made with --system-site-packages)."""

import numpy as np
import pytest

import slimc

torch = pytest.importorskip("torch", reason="torch is not importable: from_torch untested")


class SmallNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(8)
        self.fc = torch.nn.Linear(8 * 4 * 4, 5)

    def forward(self, x):
        x = torch.nn.functional.max_pool2d(torch.relu(self.bn(self.conv(x))), 2)
        return torch.softmax(self.fc(torch.flatten(x, 1)), dim=1)


def test_from_torch_matches_torch():
    torch.manual_seed(0)
    net = SmallNet()
    net.bn.running_mean.uniform_(-0.5, 0.5)
    net.bn.running_var.uniform_(0.5, 2.0)
    net.train()  # from_torch exports in eval mode and gives the mode back
    x = torch.randn(2, 3, 8, 8)
    m = slimc.from_torch(net, (x,), dynamic_shapes="batch")
    assert net.training
    assert m.inputs[0].shape == ("N", 3, 8, 8)
    net.eval()
    with torch.no_grad():
        want = net(x).numpy()
        want5 = net(torch.ones(5, 3, 8, 8)).numpy()
    np.testing.assert_allclose(m(x.numpy()), want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(m(np.ones((5, 3, 8, 8), np.float32)), want5, rtol=1e-4, atol=1e-5)


def test_from_torch_static_shape_and_threads():
    torch.manual_seed(1)
    net = torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.GELU(), torch.nn.Linear(4, 3))
    x = torch.randn(3, 6)
    m = slimc.from_torch(net, x, threads=2)
    assert m.inputs[0].shape == (3, 6)
    with torch.no_grad():
        np.testing.assert_allclose(m(x.numpy()), net(x).numpy(), rtol=1e-4, atol=1e-5)
    with pytest.raises(slimc.ShapeError):
        m(np.zeros((4, 6), np.float32))
