// Inquest behaviour (no inline handlers: the CSP forbids them).
