#!/usr/bin/python3
"""Exports, with Debian's torch, the models of tests/cli/onnx_clamp_slice.sh: slices whose
end is the symbolic sequence length over a fixed-size buffer, which ONNX's Slice clamps
(issue 19). Both with dynamic_axes {0: batch, 1: seq}.

  gpt_attn.onnx  x [batch, seq, 32] -> y: a GPT-2 style causal self-attention block (4
                 heads) whose mask is register_buffer('bias', tril(ones(64, 64)))
                 sliced bias[:, :, :T, :T]
  hf_pos.onnx    input_ids int64 [batch, seq] -> y [batch, seq, 16]: token plus position
                 embeddings, the positions an HF-style buffer position_ids[:, :T] of
                 arange(64)

  onnx_clamp_slice_torch.py DIR   writes DIR/gpt_attn.onnx and DIR/hf_pos.onnx
"""
import math
import sys
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F

warnings.filterwarnings("ignore")
out = sys.argv[1]
torch.manual_seed(0)


class GptAttention(nn.Module):
    def __init__(self, c=32, heads=4, block=64):
        super().__init__()
        self.c_attn = nn.Linear(c, 3 * c)
        self.c_proj = nn.Linear(c, c)
        self.heads = heads
        self.register_buffer("bias", torch.tril(torch.ones(block, block)).view(1, 1, block, block))

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(C, dim=2)
        q = q.view(B, T, self.heads, C // self.heads).transpose(1, 2)
        k = k.view(B, T, self.heads, C // self.heads).transpose(1, 2)
        v = v.view(B, T, self.heads, C // self.heads).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y)


class HfPositions(nn.Module):
    def __init__(self, vocab=50, c=16, block=64):
        super().__init__()
        self.wte = nn.Embedding(vocab, c)
        self.wpe = nn.Embedding(block, c)
        self.register_buffer("position_ids", torch.arange(block).expand((1, -1)))

    def forward(self, input_ids):
        T = input_ids.size(1)
        return self.wte(input_ids) + self.wpe(self.position_ids[:, :T])


axes = {0: "batch", 1: "seq"}
torch.onnx.export(GptAttention().eval(), (torch.randn(2, 5, 32),), f"{out}/gpt_attn.onnx",
                  input_names=["x"], output_names=["y"], opset_version=17,
                  dynamic_axes={"x": axes, "y": axes})
torch.onnx.export(HfPositions().eval(), (torch.randint(0, 50, (2, 5)),), f"{out}/hf_pos.onnx",
                  input_names=["input_ids"], output_names=["y"], opset_version=17,
                  dynamic_axes={"input_ids": axes, "y": axes})
