"""Evaluation of CLIP checkpoints."""
