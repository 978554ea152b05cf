"""Kingdee K3 Cloud / 金蝶云星空 WebAPI: sales orders by ExecuteBillQuery, with outbound and receivable
documents as child listings; login by password, by signature (LoginBySign) or the SDK's signed headers."""
