"""The scan's stages, in the order a file meets them: walk, exact, decode, signatures, search, verify, group."""
