"""What runs tools and writes folders: the build record, the build, synthesis and place-and-route,
measurement, bitstreams, Vivado projects and the host link."""
