"""Takedown's consented hash feed for python-threatexchange and hasher-matcher-actioner.

Add it with ``threatexchange config extensions add takedown_threatexchange``; see README.md.
"""

from threatexchange.extensions.manifest import ThreatExchangeExtensionManifest

from takedown_threatexchange.api import (
    TakedownCheckpoint,
    TakedownCollabConfig,
    TakedownCredentials,
    TakedownSignalExchangeAPI,
    TakedownSignalMetadata,
)
from takedown_threatexchange.signals import PHashSignal, PhotoMD5Signal, PhotoSHA256Signal

TX_MANIFEST = ThreatExchangeExtensionManifest(
    signal_types=(PHashSignal, PhotoMD5Signal, PhotoSHA256Signal),
    apis=(TakedownSignalExchangeAPI,),
)

__all__ = [
    "TX_MANIFEST",
    "PHashSignal",
    "PhotoMD5Signal",
    "PhotoSHA256Signal",
    "TakedownCheckpoint",
    "TakedownCollabConfig",
    "TakedownCredentials",
    "TakedownSignalExchangeAPI",
    "TakedownSignalMetadata",
]
