"""storj_monitor: watches Storj storage nodes and warns before problems cost money."""

__version__ = "0.1.0"
