"""Cainiao 菜鸟 logistics messages (LINK form posts, SmartLogisticsReport)."""
