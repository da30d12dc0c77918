"""A real kube-apiserver and etcd run as local processes (envtest's approach)."""
