"""Simulation of generated Verilog with cocotb: AXI-Stream driver/monitor, bench and runner."""
