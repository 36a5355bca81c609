"""Headers of a dead letter on `{ns}.dlq.{consumer}`: a wire contract for whoever reads them.

The body is the message as it was delivered; these headers say why it was given up on.
"""

from __future__ import annotations

ERROR_HEADER = "Wispgate-Error"
"""What failed, one line (at most MAX_HEADER_LENGTH characters)."""

CONSUMER_HEADER = "Wispgate-Consumer"
"""The consumer that gave up (`projections`, `importer`, ...)."""

DELIVERIES_HEADER = "Wispgate-Deliveries"
"""How many times the message was delivered before it was given up on."""

SUBJECT_HEADER = "Wispgate-Subject"
"""The subject the message was delivered on."""

MAX_HEADER_LENGTH = 1000
