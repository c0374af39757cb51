{
  "current": "20261128045834-86308b",
  "keys": {
    "20261128045834-86308b": "usAS24tpLBBsD0a9swa7qi77pHuPWdpVBvhkPGWJSlE="
  }
}