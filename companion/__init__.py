"""Companion package of the book *Teams of reinforcement-learning agents*.

One equation, one function: every module is short and cites the paper's equation it computes.
Computations are float64 on the CPU, one thread per process (parallelism is across processes).
"""
import torch

torch.set_num_threads(1)

__version__ = "0.1.0"
