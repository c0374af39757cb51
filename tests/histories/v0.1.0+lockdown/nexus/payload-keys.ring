{
  "current": "20261128015800-bd2aff",
  "keys": {
    "20261128015800-bd2aff": "YrgoW9soRDUkygPQMdB3qHJTpP/mGuJmU1dSn5tkZC4="
  }
}