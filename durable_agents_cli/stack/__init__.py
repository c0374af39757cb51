"""The local stack: a background supervisor that owns every dagent process."""
