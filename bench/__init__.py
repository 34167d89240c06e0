"""`make bench`: what one request costs the service, against the bare AWS SDK doing the same."""
