"""Yonyou 用友: U8 / U8+ through its OpenAPI proxy, and YonSuite / YonBIP through its open gateway —
two unrelated APIs under one vendor."""
