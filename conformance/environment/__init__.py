"""Set-up beside the data path: the cluster and CRDs, the controller's launch and
identity, the control endpoint, and the context the test processes share."""
