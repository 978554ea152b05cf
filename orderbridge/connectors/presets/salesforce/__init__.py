"""Salesforce: the Order object read by SOQL (`type: salesforce`)."""
