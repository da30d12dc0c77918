"""Second stage: the binding maps a scenario onto an implementation's API (render the
object, read its status) and is checked against the API server before the run."""
