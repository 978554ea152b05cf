"""Fxiaoke 纷享销客 (ShareCRM) open API: SalesOrderObj by /cgi/crm/v2/data/query, with the legacy
corpAccessToken carried inside every JSON body."""
