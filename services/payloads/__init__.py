"""Payloads encrypted at rest and in flight: the codec (`codec`), its key ring
(`keyring`), failures sealed like payloads (`failures`), and the marks a decoded
payload carries (`marks`, light enough for workflow code)."""
