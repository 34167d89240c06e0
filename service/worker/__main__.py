"""`python -m service.worker`."""

from service.worker.runner import main

main()
