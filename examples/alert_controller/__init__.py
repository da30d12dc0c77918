"""A small controller for the Alert API (alerting.example.io/v1beta1): a second, independent
implementation of the notification contract, certified through ``fixtures/bindings/alerting``."""
