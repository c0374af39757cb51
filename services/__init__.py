"""Everything that runs as a worker or server; never imports the CLI."""

__version__ = "0.1.0"

# Workers pass this explicitly so the SDK does not hash every loaded module.
BUILD_ID = f"dagent-{__version__}"
