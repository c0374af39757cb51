{
  "current": "20261128045810-93718b",
  "keys": {
    "20261128045810-93718b": "UVwj1uxN7YN5jChjCZurh8UXPPAgsAWAjpuXMdbb+PU="
  }
}