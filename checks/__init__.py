"""paddle-port's alignment library: the code the generated check scripts call, in the porter's ML environment.

Installed as `paddle_port_checks` (the folder is `checks/`), a name no porter's own module will have.
"""

# Part of every golden reference's fingerprint: a new release may compute references differently. Kept here
# (not read from the installed distribution) so a checkout used without installing fingerprints the same.
__version__ = "0.1.0"
