"""The checkpoints of a port, one module each (the catalogue lists them). Each computes both sides of one step;
session.py does the rest."""
