"""Companion package of the book *Teams of reinforcement-learning agents*.

One equation, one function: every module is short and cites the paper's equation it computes.
Docstrings cite equations as "eq. (n) of [KEY]":

- [MAP]: S. Chung (2021), MAP Propagation Algorithm: Faster Learning with a Team of
  Reinforcement Learning Agents, NeurIPS (with appendices);
- [WM]: S. Chung (2022), Learning by Competition of Self-Interested Reinforcement Learning
  Agents, AAAI (Weight Maximization);
- [REVIEW]: S. Chung and A. G. Barto, Faster Learning with a Team of Reinforcement Learning Agents.

Computations are float64 on the CPU, one thread per process (parallelism is across processes).
"""
import torch

torch.set_num_threads(1)

__version__ = "0.1.0"
