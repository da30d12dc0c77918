module notification-conformance/runc-capfilter

go 1.22
