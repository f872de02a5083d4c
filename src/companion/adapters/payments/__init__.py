"""Payment gateways: the embedded sandbox, and Stripe through its SDK."""
