"""The reference notification controller: one status write per delivery round,
and a time guard derived from status that makes any early reconcile harmless."""
