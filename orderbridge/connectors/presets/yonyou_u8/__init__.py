"""Yonyou U8 / U8+ (用友 U8) through its OpenAPI proxy: sales orders, by page, with a platform token."""
