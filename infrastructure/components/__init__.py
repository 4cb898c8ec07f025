"""Reusable pieces of the debts stack."""
