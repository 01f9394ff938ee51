"""The Block that keeps a campaign webhook's URL and headers out of parameters and logs.

Save one per channel, once, then name it in the flow's ``*_webhook_block``
parameters:

    python -m blocks.outreach_webhook outreach-email https://hooks.example.com/abc
"""

from __future__ import annotations

import sys

from prefect.blocks.core import Block
from prefect.types import SecretDict
from pydantic import Field, SecretStr

from flows.webhooks import Hook


class OutreachWebhook(Block):
    """A webhook that receives campaign steps (Zapier, Make, lemlist, SendGrid...).

    The URL and headers are stored encrypted by Prefect and shown masked in the UI
    and in logs. Each step is posted as JSON with an ``X-Idempotency-Key`` header.

    Example:
        ```python
        from blocks.outreach_webhook import OutreachWebhook

        OutreachWebhook(url="https://hooks.example.com/abc").save("outreach-email")
        ```
    """

    _block_type_name = "Outreach Webhook"
    _block_type_slug = "outreach-webhook"
    _logo_url = None
    _description = (
        "A webhook that receives outreach campaign steps as JSON: first email, "
        "LinkedIn action, follow-up email. The URL and headers are kept secret."
    )

    url: SecretStr = Field(
        default=...,
        title="Webhook URL",
        description="The http(s) URL steps are POSTed to. Kept secret.",
        examples=["https://hooks.example.com/catch/123/abc"],
    )
    headers: SecretDict = Field(
        default_factory=lambda: SecretDict({}),
        title="Headers",
        description="Extra request headers, such as an API key. Kept secret.",
    )
    timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=120,
        title="Timeout (seconds)",
        description="How long to wait for the webhook to answer each request.",
    )

    def hook(self, channel: str) -> Hook:
        """The plain description of this webhook that the campaign code posts to."""
        headers = {str(k): str(v) for k, v in self.headers.get_secret_value().items()}
        return Hook(channel, self.url.get_secret_value(), headers, self.timeout_seconds)


def save_url(name: str, url: str) -> bool:
    """Save the block with this URL unless it already holds it; True if saved."""
    try:
        if OutreachWebhook.load(name).url.get_secret_value() == url:
            return False
    except ValueError:
        pass
    OutreachWebhook(url=url).save(name, overwrite=True)
    return True


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m blocks.outreach_webhook BLOCK_NAME WEBHOOK_URL")
    if save_url(sys.argv[1], sys.argv[2]):
        print(f"saved Outreach Webhook block {sys.argv[1]!r}")
    else:
        print(f"Outreach Webhook block {sys.argv[1]!r} already holds that URL")
