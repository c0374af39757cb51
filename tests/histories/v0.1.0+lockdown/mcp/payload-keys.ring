{
  "current": "20261128015850-271391",
  "keys": {
    "20261128015850-271391": "vjYK50aB3Hc/oFTXaHZLcCyBcil8gs/HCtVBrOxvoJY="
  }
}