"""The embedded synthetic world: the offline default data of the demo, the tests and the benchmarks."""

from .scenes import COLOURS, COMPOSITIONAL_SUBSETS, RELATIONS, SHAPES, caption_holds
from .world import SyntheticWorld, load_synthetic_world, write_synthetic_world

__all__ = ["COLOURS", "COMPOSITIONAL_SUBSETS", "RELATIONS", "SHAPES", "SyntheticWorld", "caption_holds",
           "load_synthetic_world", "write_synthetic_world"]
