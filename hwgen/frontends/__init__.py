"""Front ends that produce the graph: the PyTorch modules and exporter (:mod:`.quant`), the
QONNX / Brevitas importer (:mod:`.qonnx`, a package: the walk and its handlers by op
category), and the lowering both share (:mod:`.lowering`: a float tail to thresholds,
falling channels negated). The PyTorch front end keeps its module name, ``quant``, which
every example, compression method and script imports."""
