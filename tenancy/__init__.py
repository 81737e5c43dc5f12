"""The business layer: who may see and do what, and every use-case of the service.

Use-cases take an ``AsyncConnection`` (inside the request's transaction) and a
``Principal`` as keyword arguments, never commit, and raise ``tenancy.errors`` types.
Tenant isolation lives here: ``policy`` holds every rule and ``scoping`` turns them into
SQL, so that no statement on a tenant-owned table runs without its tenant filter.
"""
