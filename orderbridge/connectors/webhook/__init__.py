"""The generic `webhook` type: any signed JSON push, its fields and signature described in YAML."""
