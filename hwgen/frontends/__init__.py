"""Front ends that produce the graph: the PyTorch modules and exporter (:mod:`.quant`) and the
QONNX / Brevitas importer (:mod:`.qonnx`)."""
