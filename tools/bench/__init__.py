"""Benchmarks: `make bench` runs every area and prints a table of figures for each."""
