"""Spreadsheet connector: CSV and XLSX files, re-read when they change."""
