#!/bin/bash
# Before kubelet on cgroup v2: delegate every controller to /kubelet.slice (systemd has by now
# moved all processes out of the root group, so the root's subtree_control can be written).
set -euo pipefail
[[ -f /sys/fs/cgroup/cgroup.controllers ]] || exit 0
enable() { sed -e 's/^/+/' -e 's/ / +/g' "$1/cgroup.controllers" > "$1/cgroup.subtree_control"; }
enable /sys/fs/cgroup
for group in kubelet kubelet.slice; do
  mkdir -p "/sys/fs/cgroup/${group}"
  enable "/sys/fs/cgroup/${group}"
done
