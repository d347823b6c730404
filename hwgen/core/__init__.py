"""The bottom layer: number formats, limits, the error root, the shared formulas, stream packing,
the host protocol and atomic files. Nothing here imports the rest of hwgen."""
