"""What is done with a graph before any tool runs: the plan, the beat schedule, the fold search,
the estimate and its report."""
