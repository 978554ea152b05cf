"""Yonyou YonSuite / YonBIP (用友 BIP): sales orders through the open gateway, with a signed token."""
