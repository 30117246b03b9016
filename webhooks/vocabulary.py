"""The webhook words, named once: Layers' event types, what each asks of us, and the short
plain reasons a refused delivery is answered with.

Event types are REFERENCE 6 "Webhooks" (the sandbox, somebody else's server, keeps its own
list of the few it sends). Only ``content.*``, ``job.*`` and ``post.*`` change what we mirror.
"""

from __future__ import annotations

# REFERENCE 6: every event type the docs name.
CONTENT_EVENTS = ("content.generated", "content.approved", "content.rejected")
JOB_EVENTS = ("job.completed", "job.failed", "job.canceled")
POST_EVENTS = ("post.scheduled", "post.published", "post.failed", "post.canceled")
OTHER_EVENTS = (
    "social_account.connected",
    "social_account.needs_reauth",
    "social_account.revoked",
    "lease_request.assigned",
    "lease_request.rejected",
    "test.ping",
)
EVENT_TYPES = CONTENT_EVENTS + JOB_EVENTS + POST_EVENTS + OTHER_EVENTS

# What a delivery makes us re-fetch (PendingRefetch.kind): a content event its container, a
# job or post event its project (a job makes containers; a post is scheduled from one).
CONTAINER, PROJECT = "container", "project"
REFETCH_KINDS = {CONTAINER: "re-fetch container", PROJECT: "re-fetch project"}
# Prefixes of the event families (a job.* or post.* type the docs do not list yet still counts).
CONTENT_FAMILY, JOB_FAMILY, POST_FAMILY = "content.", "job.", "post."

# The answers to a refused delivery: short, plain, never echoing what was sent or the secret.
NOT_CONFIGURED = "Webhooks are not configured here: LAYERS_WEBHOOK_SECRET is not set."
TOO_MANY = "Too many deliveries: retry later."
TOO_LARGE = "Body over 1 MB."
BAD_LENGTH = "Bad Content-Length."
NO_SIGNATURE = "Missing X-Layers-Signature."
BAD_SIGNATURE_HEADER = "Malformed X-Layers-Signature: expected t=<unix>,v1=<hex>."
TOO_OLD = "Timestamp too old: more than 5 minutes from our clock."
TOO_NEW = "Timestamp in the future: more than 5 minutes from our clock."
SIGNATURE_MISMATCH = "Signature does not match."
BAD_JSON = "Body is not valid JSON."
NOT_AN_OBJECT = "Body must be a JSON object."
ACCEPTED = "Accepted."
ALREADY_DONE = "Already processed."
