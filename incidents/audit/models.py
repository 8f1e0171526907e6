"""The audit trail (see the audit issue): append-only, hash-chained."""
