"""Test support, one module per concern: ``errors`` (userErrors as pairs), ``audit``
(audit-event counts), ``cli`` (running work as the command line does) and ``sql`` (recording
the statements an app sends)."""
