"""`dagent chat`: a REPL that knows nothing of Temporal, and the backend that does."""
