"""The five checkpoints of a port. Each module computes both sides of one step; session.py does the rest."""
