"""Datapath pieces the blocks are built from: pipeline registers, adder trees, popcount and
fixed-point lanes, constant tables, stream shapes."""
