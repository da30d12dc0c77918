"""The run: one scenario's namespace, object and actions, driving the stages before it
(binding, observers, checks) and handing its result to the reports."""
