// runc-capfilter runs runc after removing, from the container's capability sets, every
// capability outside this process's bounding set. A privileged container asks for all
// capabilities; where the engine itself runs without some (a sandboxed machine lacking
// CAP_SYS_RESOURCE, say), runc would refuse to start it. Everywhere else it changes nothing.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// The kernel's capability names in bit order (include/uapi/linux/capability.h).
var names = []string{
	"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
	"SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
	"IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
	"SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
	"LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
	"WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
}

// bounding is the set of capability names this process may hold.
func bounding() (map[string]bool, error) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if value, ok := strings.CutPrefix(line, "CapBnd:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(value), 16, 64)
			if err != nil {
				return nil, err
			}
			allowed := map[string]bool{}
			for bit, name := range names {
				if mask&(1<<uint(bit)) != 0 {
					allowed["CAP_"+name] = true
				}
			}
			return allowed, nil
		}
	}
	return nil, fmt.Errorf("no CapBnd line in /proc/self/status")
}

// filter rewrites the capabilities object of the process at path (inside "process" for a
// bundle's config.json, at the top for runc exec's --process file).
func filter(path string, nested bool, allowed map[string]bool) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return err
	}
	process := doc
	if nested {
		process, _ = doc["process"].(map[string]any)
	}
	caps, _ := process["capabilities"].(map[string]any)
	changed := false
	for set, list := range caps {
		items, _ := list.([]any)
		kept := []any{}
		for _, item := range items {
			if name, _ := item.(string); allowed[name] {
				kept = append(kept, item)
			}
		}
		if len(kept) != len(items) {
			caps[set] = kept
			changed = true
		}
	}
	if !changed {
		return nil
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, 0o600)
}

func main() {
	runc := os.Getenv("RUNC_CAPFILTER_RUNC")
	if runc == "" {
		runc = "/usr/sbin/runc"
	}
	allowed, err := bounding()
	if err == nil {
		args := os.Args[1:]
		for i, arg := range args {
			switch {
			case (arg == "--bundle" || arg == "-b") && i+1 < len(args):
				err = filter(args[i+1]+"/config.json", true, allowed)
			case arg == "--process" && i+1 < len(args):
				err = filter(args[i+1], false, allowed)
			}
			if err != nil {
				break
			}
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "runc-capfilter: %v\n", err)
		os.Exit(1)
	}
	os.Args[0] = runc
	if err := syscall.Exec(runc, os.Args, os.Environ()); err != nil {
		fmt.Fprintf(os.Stderr, "runc-capfilter: exec %s: %v\n", runc, err)
		os.Exit(1)
	}
}
