"""The web console (`placement serve`): pages over the same library operations as the command line.

The web layer holds no rule of its own: each route calls the library function
its CLI command calls (as the signed-in account, so the audit log names it)
and lays out the result. Accounts and roles are :mod:`placement.accounts`.
"""
