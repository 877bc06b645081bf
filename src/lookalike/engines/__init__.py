"""Where the heavy stages run: worker processes on this machine (pool) or a Ray cluster, behind one interface."""
