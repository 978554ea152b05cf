"""Jiandaoyun 简道云: data push (数据推送) of a form's rows; the rows' fields are the tenant's own."""
