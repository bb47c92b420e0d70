"""What the tests share: files written in the published formats, tiny models and worlds, paths."""
