"""A team's tool service: the Nexus contract, its handler, and the tool workflow behind it.

IT and Finance run the same service, each in its own namespace, serving only
its own tools from the registry.
"""
