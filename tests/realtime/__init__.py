"""The live parts: the plan channel, its store, faults, several processes."""
