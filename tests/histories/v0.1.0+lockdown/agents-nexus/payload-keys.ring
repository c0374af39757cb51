{
  "current": "20261128015824-fa85b0",
  "keys": {
    "20261128015824-fa85b0": "UVsY8rmU96jgjGMfhlU0aUm2ke6iXUz5uWJ+HcXsJgY="
  }
}