#!/usr/bin/env python3
"""The .npz files of tests/unit/test_npz.c, written by numpy (run here: python3 make_npz.py).

  two.npz         np.savez: ids int64 [3, 4] = arange(12) * 7 - 5, mask bool [3, 4]
                  (i % 3 != 0), x float32 [3, 2, 2] = arange(12) * 0.25 - 1
  compressed.npz  the same arrays by np.savez_compressed (slimc refuses it: no inflate)
"""
import numpy as np

a = {"ids": (np.arange(12, dtype=np.int64) * 7 - 5).reshape(3, 4),
     "mask": (np.arange(12) % 3 != 0).reshape(3, 4),
     "x": (np.arange(12, dtype=np.float32) * 0.25 - 1).reshape(3, 2, 2)}
np.savez("two.npz", **a)
np.savez_compressed("compressed.npz", **a)
