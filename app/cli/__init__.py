"""agentctl, the operator's command line: ``main`` is the root command, one module per command group."""
