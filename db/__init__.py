"""Persistence: settings, engine, tables, migrations and seeds.

Imports nothing from ``tenancy`` or ``gql``.
"""
