"""An in-process radio with simulated devices, for the demo, tests and benchmarks."""
