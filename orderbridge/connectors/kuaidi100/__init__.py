"""Kuaidi100 快递100 subscription pushes (订阅推送), and its real-time query (实时查询) as the safety net."""
