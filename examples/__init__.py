"""Example controllers that implement APIs other than the reference one, certified through bindings."""
