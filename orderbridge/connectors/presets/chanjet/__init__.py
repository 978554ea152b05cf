"""Chanjet 畅捷通 T+ (T+Cloud, through the open.chanjet.com gateway): sales order vouchers."""
